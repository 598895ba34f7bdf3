/**
 * The feed's filters. Menus apply at once; the two text boxes wait until typing pauses, so each
 * keystroke does not re-read the feed. The same filter then narrows pages (on the service) and
 * live pushes (in the store).
 */
import { useEffect, useId, useState } from 'react';
import { isEmptyFeedFilter, EMPTY_FEED_FILTER } from '../../../core/console/api.ts';
import { SEVERITY_CHOICES, severityChoiceOf, sourceIpFilterFromInput } from '../store/feed-filter-input.ts';
import { useFeed } from './store-hooks.ts';

/** Long enough to finish typing an address, short enough to feel immediate. */
const TYPING_PAUSE_MS = 300;

export function FeedFilters() {
  const filter = useFeed((state) => state.filter);
  const rules = useFeed((state) => state.rules);
  const agents = useFeed((state) => state.agents);
  const updateFilter = useFeed((state) => state.updateFilter);
  const setFilter = useFeed((state) => state.setFilter);
  const [ipText, setIpText] = useState(filter.sourceIp ?? '');
  const [searchText, setSearchText] = useState(filter.text ?? '');
  const ip = sourceIpFilterFromInput(ipText);
  const ids = { rule: useId(), severity: useId(), agent: useId(), ip: useId(), ipHelp: useId(), text: useId() };

  const ipValid = ip.ok;
  const ipValue = ip.ok ? ip.sourceIp : null;
  const ipMatch = ip.ok ? ip.sourceIpMatch : 'exact';
  useEffect(() => {
    // An address being typed wrong keeps the last good filter until it is fixed.
    if (!ipValid) return;
    const timer = setTimeout(() => updateFilter({ sourceIp: ipValue, sourceIpMatch: ipMatch }), TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [ipValid, ipValue, ipMatch, updateFilter]);

  useEffect(() => {
    const text = searchText.trim();
    const timer = setTimeout(() => updateFilter({ text: text === '' ? null : text }), TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [searchText, updateFilter]);

  const clear = () => {
    setIpText('');
    setSearchText('');
    setFilter(EMPTY_FEED_FILTER);
  };

  return (
    <form role="search" aria-label="Feed filters" className="feed-filters" onSubmit={(event) => event.preventDefault()}>
      <div className="feed-filters__field">
        <label htmlFor={ids.severity}>Severity</label>
        <select
          id={ids.severity}
          className="input input--compact"
          value={severityChoiceOf(filter)}
          onChange={(event) => {
            const choice = SEVERITY_CHOICES.find((c) => c.value === event.target.value) ?? SEVERITY_CHOICES[0];
            updateFilter({ severity: choice.severity, severityMatch: choice.match });
          }}
        >
          {SEVERITY_CHOICES.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
      </div>
      <div className="feed-filters__field">
        <label htmlFor={ids.rule}>Rule</label>
        <select id={ids.rule} className="input input--compact" value={filter.rule ?? ''} onChange={(event) => updateFilter({ rule: event.target.value || null })}>
          <option value="">Any rule</option>
          {rules.map((rule) => (
            <option key={rule} value={rule}>
              {rule}
            </option>
          ))}
        </select>
      </div>
      <div className="feed-filters__field">
        <label htmlFor={ids.agent}>Agent</label>
        <select id={ids.agent} className="input input--compact" value={filter.agent ?? ''} onChange={(event) => updateFilter({ agent: event.target.value || null })}>
          <option value="">Any agent</option>
          {agents.map((agent) => (
            <option key={agent.key} value={agent.key}>
              {agent.hostname || agent.key.slice(0, 12)}
            </option>
          ))}
        </select>
      </div>
      <div className="feed-filters__field">
        <label htmlFor={ids.ip}>Source IP</label>
        <input
          id={ids.ip}
          className="input input--compact mono"
          type="search"
          value={ipText}
          onChange={(event) => setIpText(event.target.value)}
          placeholder="203.0.113.7 or 203.0.113."
          aria-invalid={ip.ok ? undefined : true}
          aria-describedby={ip.ok ? undefined : ids.ipHelp}
          autoComplete="off"
          spellCheck={false}
        />
        {ip.ok ? null : (
          <span id={ids.ipHelp} className="field__help field__help--error">
            {ip.error}
          </span>
        )}
      </div>
      <div className="feed-filters__field feed-filters__field--wide">
        <label htmlFor={ids.text}>Search</label>
        <input
          id={ids.text}
          className="input input--compact"
          type="search"
          value={searchText}
          onChange={(event) => setSearchText(event.target.value)}
          placeholder="summary, rule, address, evidence"
          autoComplete="off"
          spellCheck={false}
        />
      </div>
      <button type="button" className="btn btn--small" onClick={clear} aria-disabled={isEmptyFeedFilter(filter) && ipText === '' && searchText === '' ? true : undefined}>
        Clear filters
      </button>
    </form>
  );
}
