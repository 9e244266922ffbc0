import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { formatNumber } from '../core/format.ts';
import { healthSegments, type HealthCounts, type StatusView } from '../core/status.ts';

export function StatusBadge({ status }: { status: StatusView }) {
  return (
    <span class="status">
      <span class={`badge badge-${status.status.toLowerCase()}`}>{status.status}</span>
      {status.reason !== undefined && <span class="reason">{status.reason}</span>}
    </span>
  );
}

/** Healthy, unhealthy, unknown and staged instances against the instances asked, in words for screen readers. */
export function HealthBar({ counts }: { counts: HealthCounts }) {
  const words = `${counts.healthy} healthy, ${counts.unhealthy} unhealthy, ${counts.unknown} unknown, ${counts.staged} staged of ${counts.asked}`;
  return (
    <div class="healthbar" role="img" aria-label={words} title={words}>
      {healthSegments(counts).map((s) => <span key={s.health} class={`seg seg-${s.health}`} style={{ width: `${s.fraction * 100}%` }} />)}
    </div>
  );
}

export function UsageBar({ label, used, total, unit = '' }: { label: string; used: number; total: number; unit?: string }) {
  const fraction = total > 0 ? Math.min(1, used / total) : 0;
  const words = `${label}: ${formatNumber(used)} of ${formatNumber(total)}${unit} used`;
  return (
    <div class="usage" title={words}>
      <div class="usage-bar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={used} aria-valuetext={words}>
        <span class={fraction > 0.9 ? 'full' : ''} style={{ width: `${fraction * 100}%` }} />
      </div>
      <span class="usage-text">{formatNumber(used)} / {formatNumber(total)}{unit}</span>
    </div>
  );
}

export function ErrorNote({ error }: { error: string | undefined }) {
  if (error === undefined || error === '') return null;
  return <p class="error" role="alert">{error}</p>;
}

/**
 * A modal question (the native dialog: focus kept inside, Escape cancels). `open` shows it; the
 * answer comes back through onConfirm / onCancel.
 */
export function Confirm({ open, title, children, confirmLabel, danger, onConfirm, onCancel }: {
  open: boolean; title: string; children?: ComponentChildren; confirmLabel: string; danger?: boolean; onConfirm: () => void; onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h2 id="confirm-title">{title}</h2>
      {children}
      <div class="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="button" class={danger === true ? 'danger' : 'primary'} onClick={onConfirm}>{confirmLabel}</button>
      </div>
    </dialog>
  );
}
