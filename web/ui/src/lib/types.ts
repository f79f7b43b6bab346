// The JSON shapes of Sonde's REST API (web/src/api.rs is the source of truth).

export type ScanStatus = 'queued' | 'running' | 'completed' | 'cancelled' | 'failed';

export interface ScanCounters {
  probes_total: number;
  probes_sent: number;
  probes_done: number;
  replies: number;
  open_ports: number;
  hosts_up: number;
  rate_pps: number;
  eta_seconds: number | null;
}

export interface ScanView {
  id: number;
  status: ScanStatus;
  targets: string[];
  ports: string;
  /** Empty when the scan probed no UDP port. */
  udp_ports: string;
  rate: number;
  seed: number;
  counters: ScanCounters;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

export interface HostSummary {
  ip: string;
  open_ports: number[];
  first_seen: string;
  last_seen: string;
}

export interface PortView {
  port: number;
  proto: string;
  state: string;
  service: string | null;
  product: string | null;
  version: string | null;
  vendor?: string | null;
  info?: string | null;
  cpe?: string | null;
  signature?: string | null;
  confidence: number | null;
  banner: string | null;
  rtt_ms: number | null;
  last_scan_id: number;
  first_seen: string;
  last_seen: string;
  // Present once the store keeps certificate fields.
  certificate?: Record<string, unknown> | null;
}

export interface HostDetail {
  ip: string;
  first_seen: string;
  last_seen: string;
  ports: PortView[];
  hostnames?: { name: string; source: string }[];
  history?: HistoryEntry[];
  mac?: string | null;
  vendor?: string | null;
  name?: string | null;
  note?: string | null;
  tags?: string[];
  /** The machine this address belongs to; its other addresses now and before. */
  machine_id?: number | null;
  also_seen_at?: string[];
  previously_at?: string[];
}

export interface ServiceInfo {
  service: string | null;
  product: string | null;
  version: string | null;
}

export interface HistoryEntry {
  scan_id: number;
  at: string;
  kind: string;
  /** Where the change was seen; `from` is the earlier address of a `host_moved`. */
  ip?: string | null;
  from?: string | null;
  port: number | null;
  proto: string | null;
  before: ServiceInfo | null;
  after: ServiceInfo | null;
}

export interface ScheduleView {
  id: number;
  name: string;
  targets: string[];
  exclude: string[];
  ports: string | null;
  udp_ports: string | null;
  rate: number | null;
  cron: string | null;
  every_hours: number | null;
  timezone: string;
  enabled: boolean;
  created_at: string;
  last_run_at: string | null;
  last_scan_id: number | null;
  next_run_at: string | null;
}

export interface ServiceCount {
  service: string;
  ports: number;
  hosts: number;
}

export interface PortRef {
  ip: string;
  port: number;
  proto: string;
  service: string | null;
  product: string | null;
  version: string | null;
}

export interface ScanChanges {
  scan_id: number;
  against: number | null;
  hosts_appeared: string[];
  hosts_vanished: string[];
  hosts_moved?: { machine_id: number; from: string; to: string }[];
  ports_opened: PortRef[];
  ports_closed: PortRef[];
  services_changed: {
    ip: string;
    port: number;
    proto: string;
    before: { service: string | null; product: string | null; version: string | null };
    after: { service: string | null; product: string | null; version: string | null };
  }[];
}

export interface User {
  id: number;
  name: string;
  role: 'admin' | 'operator' | 'viewer';
}

export interface Session {
  user: User;
  csrf_token: string | null;
}

export type SondeEvent =
  | { id: number; type: 'scan_status'; scan_id: number; status: ScanStatus; error: string | null }
  | { id: number; type: 'scan_progress'; scan_id: number; counters: ScanCounters }
  | { id: number; type: 'host_found'; scan_id: number; ip: string }
  | { id: number; type: 'port_found'; scan_id: number; ip: string; port: PortView }
  | { id: number; type: 'scan_finished'; scan_id: number; status: ScanStatus; counters: ScanCounters }
  | { id: number; type: 'host_changed' | 'port_changed' | 'host_moved'; [key: string]: unknown }
  | { id: number; type: 'container_changed'; docker_host_id: number; endpoint: string; container_id: string; name: string; image: string; change: 'appeared' | 'vanished' };

/** `GET /api/v1/settings`. */
export interface Settings {
  exclude: string[];
  default_rate: number;
  default_rate_from_config: boolean;
  rate_cap: number | null;
  signature_dirs: string[];
}

export interface DockerPort {
  host_ip: string | null;
  host_port: number;
  container_port: number;
  proto: string;
}

export interface DockerAttachment {
  network: string;
  address: string | null;
  prefix_len: number | null;
  mac: string | null;
}

export interface DockerContainer {
  id: string;
  name: string;
  image: string;
  state: string;
  labels: Record<string, string>;
  ports: DockerPort[];
  networks: DockerAttachment[];
  first_seen: string;
  last_seen: string;
}

export interface DockerNetwork {
  id: string;
  name: string;
  driver: string;
  subnets: string[];
  internal: boolean;
  first_seen: string;
  last_seen: string;
}

export interface DockerHost {
  id: number;
  endpoint: string;
  ip: string | null;
  known_host: boolean;
  product: string | null;
  version: string | null;
  api_version: string | null;
  platform: string | null;
  error: string | null;
  first_seen: string;
  last_seen: string;
  last_read: string;
  containers: DockerContainer[];
  networks: DockerNetwork[];
}

export interface DockerView {
  hosts: DockerHost[];
}

/** `GET /appliances`: an appliance sharing the store. */
export interface Appliance {
  name: string;
  reach: string[];
  exclusive: string[];
  raw_sockets: boolean;
  io_uring: boolean;
  version: string;
  started_at: string;
  heartbeat_at: string;
  alive: boolean;
  leased_chunks: number;
}
