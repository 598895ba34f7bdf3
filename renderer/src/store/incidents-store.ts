/**
 * Incidents and their block proposals: what the Incidents view lists, the incident the analyst
 * opened (with its correlated anomalies), and the analyst's decisions on proposals (approve as
 * proposed, approve edited, reject with a reason) with each executor's answer. Only this store
 * calls the incident methods of the API.
 *
 * Loaded when the view first opens; from then on `incidents` pushes upsert rows by id. A row is
 * replaced only by a version at least as new (updatedAt, the console's clock), so a push that
 * raced a re-read never puts an older state back. Pushes that arrive while a read is in flight
 * are kept and applied on top of its answer. Unchanged rows keep their objects (memoized rows).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConsoleApi, ConsoleEvent, IncidentAnomalyRow, IncidentRow, IncidentsView, MitigationDelivery, ProposalRow } from '../../../core/console/api.ts';
import { IDLE, toCallErrorView, withActivity, type ActionState, type CallErrorView } from './call-outcome.ts';
import { createLiveListLoad, type LiveListStatus } from './live-list-load.ts';
import { rowsOfRead, sameList, sameRow, upsertRows } from './same-row.ts';

export type IncidentsPush = Extract<ConsoleEvent, { type: 'incidents' }>;

export interface IncidentDetailState {
  incidentId: string;
  phase: 'loading' | 'ready' | 'error';
  /** The anomalies the incident correlates, newest first. */
  anomalies: readonly IncidentAnomalyRow[];
  /** Every proposal made for the incident, newest first (the rows are in `proposals`). */
  proposalIds: readonly string[];
  error: CallErrorView | null;
}

/** What the analyst changed in the Edit dialog; a field left out stays as proposed. */
export interface ProposalEdits {
  cidr?: string;
  ttlSeconds?: number;
  targets?: readonly string[];
}

export type ProposalDecisionKind = 'approve' | 'edit' | 'reject';

/** A decision on one proposal that is running or failed; which button or dialog it came from. */
export interface ProposalDecisionActivity extends ActionState {
  kind: ProposalDecisionKind;
}

export interface IncidentsState extends LiveListStatus {
  byId: Readonly<Record<string, IncidentRow>>;
  /** Newest activity first (lastSeen, then newest created). Same array while the order holds. */
  orderedIds: readonly string[];
  proposals: Readonly<Record<string, ProposalRow>>;
  /** Trusted executors that granted this console mitigation.request: possible targets. */
  executors: readonly string[];
  selectedId: string | null;
  detail: IncidentDetailState | null;
  decisionActivity: Readonly<Record<string, ProposalDecisionActivity>>;
  /** What each executor answered to this page's approval of a proposal (until the page reloads). */
  deliveries: Readonly<Record<string, readonly MitigationDelivery[]>>;

  /** Loads the list the first time the view opens; later calls do nothing. */
  activate(): void;
  /** Re-reads the list (after a failed load, or to refresh the executors before an edit). */
  refresh(): Promise<void>;
  applyPush(event: IncidentsPush): void;
  /** The service pushed a snapshot: a reconnect, so pushes may have been lost. */
  connectionRestored(): void;
  /** Opens an incident's detail pane (and reads its anomalies); null closes it. */
  select(incidentId: string | null): Promise<void>;
  /** Approves a pending proposal, as proposed (`edits` null) or edited; resolves true when the service accepted it. */
  approve(proposalId: string, edits: ProposalEdits | null): Promise<boolean>;
  reject(proposalId: string, reason: string): Promise<boolean>;
  clearDecisionOutcome(proposalId: string): void;
}

export type IncidentsStore = StoreApi<IncidentsState>;

/** Newest activity first; ties by the newest incident, then by id (numbers in ids compared as numbers). */
export function compareIncidents(a: IncidentRow, b: IncidentRow): number {
  return b.lastSeen - a.lastSeen || b.createdAt - a.createdAt || b.id.localeCompare(a.id, 'en', { numeric: true });
}

function idOf(row: { id: string }): string {
  return row.id;
}

function proposalIdsOf(proposals: readonly ProposalRow[]): string[] {
  return [...proposals].sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id, 'en', { numeric: true })).map((p) => p.id);
}

export function createIncidentsStore(api: ConsoleApi): IncidentsStore {
  return createStore<IncidentsState>()((set, get) => {
    let detailGeneration = 0;
    /** A quiet re-read of the open incident runs, and another was asked for meanwhile. */
    let detailRefreshing = false;
    let detailRefreshAgain = false;

    function commitIncidents(byId: Readonly<Record<string, IncidentRow>>): void {
      const previous = get().orderedIds;
      const next = Object.values(byId).sort(compareIncidents).map((row) => row.id);
      set({ byId, orderedIds: sameList(previous, next) ? previous : next });
    }

    function upsert(incidents: readonly IncidentRow[], proposals: readonly ProposalRow[]): void {
      const state = get();
      const byId = upsertRows(state.byId, incidents, idOf);
      const proposalsById = upsertRows(state.proposals, proposals, idOf);
      if (proposalsById !== state.proposals) set({ proposals: proposalsById });
      if (byId !== state.byId) commitIncidents(byId);
      const detail = get().detail;
      if (detail) {
        const added = proposals.filter((p) => p.incidentId === detail.incidentId && !detail.proposalIds.includes(p.id));
        if (added.length > 0) set({ detail: { ...detail, proposalIds: proposalIdsOf([...detail.proposalIds.map((id) => get().proposals[id]).filter((p) => p !== undefined), ...added]) } });
      }
    }

    function replaceAll(view: IncidentsView): void {
      const state = get();
      const byId = rowsOfRead(state.byId, view.incidents, idOf);
      const proposals = rowsOfRead(state.proposals, view.proposals, idOf);
      // Proposals of the open incident that the list does not carry (older ones) stay for its pane.
      const detail = state.detail;
      if (detail) for (const id of detail.proposalIds) if (!proposals[id] && state.proposals[id]) proposals[id] = state.proposals[id];
      const executors = sameList(state.executors, view.executors) ? state.executors : view.executors;
      set({ proposals, executors });
      commitIncidents(byId);
    }

    const live = createLiveListLoad(
      { get, set },
      {
        read: () => api.call('incidents', {}),
        applyRead: replaceAll,
        applyPush: (push: IncidentsPush) => upsert(push.incidents, push.proposals),
      },
    );

    async function fetchDetail(incidentId: string, quietly: boolean): Promise<void> {
      const generation = ++detailGeneration;
      if (!quietly) set({ detail: { incidentId, phase: 'loading', anomalies: [], proposalIds: [], error: null } });
      try {
        const view = await api.call('incidentDetail', { incidentId });
        if (generation !== detailGeneration || get().detail?.incidentId !== incidentId) return;
        upsert([view.incident], view.proposals);
        const proposalIds = proposalIdsOf(view.proposals);
        const held = get().detail;
        set({
          detail: {
            incidentId,
            phase: 'ready',
            anomalies: held && sameRow(held.anomalies, view.anomalies) ? held.anomalies : view.anomalies,
            proposalIds: held && sameList(held.proposalIds, proposalIds) ? held.proposalIds : proposalIds,
            error: null,
          },
        });
      } catch (error) {
        if (generation !== detailGeneration || get().detail?.incidentId !== incidentId) return;
        // A failed quiet re-read leaves what the pane shows: it is only less fresh.
        if (!quietly) set({ detail: { incidentId, phase: 'error', anomalies: [], proposalIds: [], error: toCallErrorView(error) } });
      }
    }

    /** The open incident changed: re-read its anomalies, one read at a time, the last change always read. */
    async function refreshDetail(incidentId: string): Promise<void> {
      if (detailRefreshing) {
        detailRefreshAgain = true;
        return;
      }
      detailRefreshing = true;
      try {
        do {
          detailRefreshAgain = false;
          await fetchDetail(incidentId, true);
        } while (detailRefreshAgain && get().detail?.incidentId === incidentId);
      } finally {
        detailRefreshing = false;
      }
    }

    function setActivity(proposalId: string, activity: ProposalDecisionActivity | null): void {
      set({ decisionActivity: withActivity(get().decisionActivity, proposalId, activity) });
    }

    return {
      active: false,
      phase: 'idle',
      error: null,
      refreshing: false,
      byId: {},
      orderedIds: [],
      proposals: {},
      executors: [],
      selectedId: null,
      detail: null,
      decisionActivity: {},
      deliveries: {},

      activate: live.activate,
      refresh: live.load,

      applyPush(event) {
        if (!live.push(event)) return;
        const detail = get().detail;
        if (detail?.phase === 'ready' && event.incidents.some((row) => row.id === detail.incidentId)) void refreshDetail(detail.incidentId);
      },

      connectionRestored() {
        if (!live.connectionRestored()) return;
        const detail = get().detail;
        if (detail) void refreshDetail(detail.incidentId);
      },

      async select(incidentId) {
        if (incidentId === null) {
          detailGeneration++;
          set({ selectedId: null, detail: null });
          return;
        }
        if (get().selectedId === incidentId && get().detail?.phase !== 'error') return;
        set({ selectedId: incidentId });
        await fetchDetail(incidentId, false);
      },

      async approve(proposalId, edits) {
        if (get().decisionActivity[proposalId]?.busy) return false;
        const kind: ProposalDecisionKind = edits ? 'edit' : 'approve';
        setActivity(proposalId, { kind, busy: true, error: null });
        try {
          const outcome = await api.call('approveProposal', {
            proposalId,
            cidr: edits?.cidr ?? null,
            ttlSeconds: edits?.ttlSeconds ?? null,
            targets: edits?.targets ? [...edits.targets] : null,
          });
          upsert([], [outcome.proposal]);
          set({ deliveries: { ...get().deliveries, [proposalId]: outcome.deliveries } });
          setActivity(proposalId, null);
          return true;
        } catch (error) {
          setActivity(proposalId, { kind, busy: false, error: toCallErrorView(error) });
          return false;
        }
      },

      async reject(proposalId, reason) {
        if (get().decisionActivity[proposalId]?.busy) return false;
        setActivity(proposalId, { kind: 'reject', busy: true, error: null });
        try {
          const proposal = await api.call('rejectProposal', { proposalId, reason });
          upsert([], [proposal]);
          setActivity(proposalId, null);
          return true;
        } catch (error) {
          setActivity(proposalId, { kind: 'reject', busy: false, error: toCallErrorView(error) });
          return false;
        }
      },

      clearDecisionOutcome(proposalId) {
        if (get().decisionActivity[proposalId] && !get().decisionActivity[proposalId]?.busy) setActivity(proposalId, null);
      },
    };
  });
}

// Selectors.

export const selectIncident =
  (incidentId: string) =>
  (state: IncidentsState): IncidentRow | undefined =>
    state.byId[incidentId];

export const selectProposal =
  (proposalId: string | null) =>
  (state: IncidentsState): ProposalRow | undefined =>
    proposalId === null ? undefined : state.proposals[proposalId];

const IDLE_DECISION: ProposalDecisionActivity = { ...IDLE, kind: 'approve' };

export const selectDecisionActivity =
  (proposalId: string) =>
  (state: IncidentsState): ProposalDecisionActivity =>
    state.decisionActivity[proposalId] ?? IDLE_DECISION;

export const selectPendingProposalCount = (state: IncidentsState): number => Object.values(state.proposals).filter((p) => p.status === 'pending').length;

/** How the escalation reads: "first offence", or "2 earlier bans: TTL escalated". */
export function offenceText(previousBans: number): string {
  if (previousBans <= 0) return 'first offence';
  return `${previousBans} earlier ${previousBans === 1 ? 'ban' : 'bans'}: TTL escalated`;
}

/** One executor's part in an approved block, as the Incidents view shows it. */
export interface ExecutorOutcome {
  executor: string;
  /** `applied`, `refused`, `failed`, `expired`, `revoked`, or what the delivery said (e.g. a timeout); `waiting` before any answer. */
  status: string;
  /** The executor's reason or refusal code, when it gave one. */
  detail: string | null;
  at: number | null;
  expiresAt: number | null;
}

/**
 * Per target of an approved proposal: the latest result the console recorded (it follows the
 * block through expiry or revocation), else the answer to this page's approval call, else waiting.
 */
export function executorOutcomes(proposal: ProposalRow, deliveries: readonly MitigationDelivery[] | undefined): ExecutorOutcome[] {
  const targets = proposal.approved?.targets ?? proposal.targets;
  const names = [...targets];
  for (const result of proposal.results) if (!names.includes(result.target)) names.push(result.target);
  for (const delivery of deliveries ?? []) if (!names.includes(delivery.executor)) names.push(delivery.executor);
  return names.map((executor) => {
    let latest: ProposalRow['results'][number] | undefined;
    for (const result of proposal.results) if (result.target === executor && (latest === undefined || result.at >= latest.at)) latest = result;
    if (latest) return { executor, status: latest.result, detail: latest.detail, at: latest.at, expiresAt: latest.expiresAt };
    const delivery = deliveries?.find((d) => d.executor === executor);
    if (delivery) {
      const detail = [delivery.code, delivery.reason].filter((part): part is string => part !== null && part !== '').join(': ') || null;
      return { executor, status: delivery.status, detail, at: null, expiresAt: delivery.expiresAt };
    }
    return { executor, status: 'waiting', detail: null, at: null, expiresAt: null };
  });
}
