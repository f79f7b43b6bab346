// The chart endpoints (`/api/v1/stats/...`) and what the charts derive from them.

import { get } from './api';

export interface PortCount {
  port: number;
  hosts: number;
}

export interface SubnetCount {
  /** `a.b.c.0/24` */
  subnet: string;
  hosts: number;
  ports: number;
}

export const topPorts = (limit = 12) => get<PortCount[]>(`/stats/ports?limit=${limit}`);
export const subnets = () => get<SubnetCount[]>('/stats/subnets');

/** The /16s that hold hosts, busiest first, as `a.b.0.0/16`. */
export function slash16s(rows: SubnetCount[]): string[] {
  const by = new Map<string, number>();
  for (const r of rows) {
    const [a, b] = r.subnet.split('.');
    const key = `${a}.${b}.0.0/16`;
    by.set(key, (by.get(key) ?? 0) + r.hosts);
  }
  return [...by.entries()].sort((x, y) => y[1] - x[1]).map(([k]) => k);
}

/** Hosts in each of the 256 /24s of `prefix` (`a.b.0.0/16`). */
export function heat(rows: SubnetCount[], prefix: string): number[] {
  const [a, b] = prefix.split('.');
  const counts = new Array<number>(256).fill(0);
  for (const r of rows) {
    const [x, y, c] = r.subnet.split('.');
    if (x === a && y === b) counts[Number(c)] = r.hosts;
  }
  return counts;
}
