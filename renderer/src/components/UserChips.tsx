/** The user names an anomaly or incident tried, as chips (attacker text, rendered as text), and how many more there were. */
export function UserChips({ users, total }: { users: readonly string[]; total: number }) {
  if (users.length === 0) return '—';
  const hidden = total - users.length;
  return (
    <ul className="chips">
      {users.map((user) => (
        <li key={user} className="chip">
          {user}
        </li>
      ))}
      {hidden > 0 ? <li className="chip chip--more">and {hidden.toLocaleString('en-US')} more</li> : null}
    </ul>
  );
}
