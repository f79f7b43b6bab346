// Formatting helpers: numbers, durations and times a person reads at a glance.

export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

export function rate(pps: number | null | undefined): string {
  if (!pps) return '0 pps';
  if (pps >= 10_000) return `${(pps / 1000).toFixed(1)}k pps`;
  return `${Math.round(pps)} pps`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // The year only when it is not this one: tables stay narrow.
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: sameYear ? undefined : 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function percent(done: number, total: number): number {
  if (!total) return 0;
  return Math.min(100, (100 * done) / total);
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function subnet24(ip: string): string {
  const parts = ip.split('.');
  return `${parts[0]}.${parts[1]}.${parts[2]}.0/24`;
}

export function serviceLabel(p: {
  service?: string | null;
  product?: string | null;
  version?: string | null;
}): string {
  return [p.service, p.product, p.version].filter(Boolean).join(' ') || 'unknown';
}
