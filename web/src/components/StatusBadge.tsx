export function StatusBadge({ status }: { status: string }) {
  // The class only picks a colour; unknown statuses get the neutral one.
  const known = /^[a-z]+$/.test(status) ? status : "unknown";
  return (
    <span className={`badge badge-${known}`} data-testid="status-badge">
      {status}
    </span>
  );
}
