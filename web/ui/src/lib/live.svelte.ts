// Live state shared by the pages: scans and their counters kept current by the event stream,
// a short rate history per scan for the line chart, and a change counter pages watch to
// reload their data when something new is stored.

import { get } from './api';
import { openEvents, type StreamState } from './events';
import type { ScanView, SondeEvent } from './types';

/** Rate samples kept per scan (a few per second arrive; ten minutes at 2/s). */
const RATE_HISTORY = 1200;

export interface RateSample {
  t: number;
  pps: number;
}

class Live {
  scans = $state<ScanView[]>([]);
  stream = $state<StreamState>('connecting');
  /** Grows whenever a host or port is stored; pages reload (debounced) when it moves. */
  found = $state(0);
  /** Grows whenever a container appears on or vanishes from a Docker engine. */
  containers = $state(0);
  rates = $state<Record<number, RateSample[]>>({});
  /** Hosts found per scan while this page has been open, for the live heat map. */
  recentHosts = $state<string[]>([]);
  private close: (() => void) | null = null;

  async start() {
    if (this.close) return;
    await this.reload();
    this.close = openEvents({
      onEvent: (e) => this.apply(e),
      onState: (s) => {
        const wasRetrying = this.stream === 'retrying';
        this.stream = s;
        // Coming back after a drop: counters may have moved past what the replay holds.
        if (s === 'live' && wasRetrying) void this.reload();
      },
    });
  }

  stop() {
    this.close?.();
    this.close = null;
  }

  async reload() {
    try {
      this.scans = await get<ScanView[]>('/scans');
    } catch {
      // Shown as stale by the stream indicator; the next event retries.
    }
  }

  private apply(e: SondeEvent) {
    switch (e.type) {
      case 'scan_progress': {
        const scan = this.scans.find((s) => s.id === e.scan_id);
        if (scan) {
          scan.counters = e.counters;
          if (scan.status === 'queued') scan.status = 'running';
        } else void this.reload();
        const samples = this.rates[e.scan_id] ?? [];
        samples.push({ t: Date.now(), pps: e.counters.rate_pps });
        if (samples.length > RATE_HISTORY) samples.splice(0, samples.length - RATE_HISTORY);
        this.rates[e.scan_id] = samples;
        break;
      }
      case 'scan_status': {
        const scan = this.scans.find((s) => s.id === e.scan_id);
        if (scan) {
          scan.status = e.status;
          scan.error = e.error;
        } else void this.reload();
        break;
      }
      case 'scan_finished': {
        const scan = this.scans.find((s) => s.id === e.scan_id);
        if (scan) {
          scan.status = e.status;
          scan.counters = e.counters;
        }
        this.found++;
        // finished_at and the final counters come from the store.
        void this.reload();
        break;
      }
      case 'host_found':
        this.recentHosts.push(e.ip);
        this.found++;
        break;
      case 'port_found':
      case 'host_changed':
      case 'host_moved':
      case 'port_changed':
        this.found++;
        break;
      case 'container_changed':
        this.containers++;
        break;
    }
  }
}

export const live = new Live();
