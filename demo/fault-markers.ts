import type { HealingState } from './healing.ts';

/** What a marker on the page's charts stands for. */
export type MarkerKind = 'fault' | 'found' | 'cordon' | 'floor' | 'drain' | 'page';

/** The healing events of one recorded time, drawn as one vertical line on the charts. */
export interface FaultMarker {
  /** Recorded time (ISO 8601, UTC), the interval the events happened in. */
  at: string;
  events: Array<{ kind: MarkerKind; text: string }>;
}

/** The node remediation steps that get a marker, and how the marker names them. */
const STEPS: Record<string, { kind: MarkerKind; words: string }> = {
  cordon: { kind: 'cordon', words: 'cordoned' },
  'raise-floors': { kind: 'floor', words: 'replica floor raised (capacity first)' },
  drain: { kind: 'drain', words: 'drain started (replacements ready)' },
};

type Event = { at: string; kind: MarkerKind; text: string };

/**
 * The markers for the page's charts, from what /api/demo/healing already says: each injected fault,
 * each finding (its first remediation decision), each cordon, floor raise and drain that was acted on
 * (a fatal node's drain is its first eviction), and each on-call message sent. Events of the same
 * recorded time share one marker; markers come oldest first.
 */
export function faultMarkers(h: Pick<HealingState, 'faults' | 'remediations' | 'oncall'>): FaultMarker[] {
  const events: Event[] = [];
  for (const f of h.faults) if (f.happened && f.at) events.push({ at: f.at, kind: 'fault', text: `fault: ${f.what} of ${f.node}` });
  events.push(...remediationEvents(h.remediations));
  for (const d of [...h.oncall.deliveries].reverse()) events.push({ at: d.at, kind: 'page', text: `page sent (${d.status}): ${d.summary}: ${d.result}` });
  const byTime = new Map<string, FaultMarker>();
  // A stable sort: events of one time keep the order above (fault, finding, steps, page).
  for (const e of events.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
    const m = byTime.get(e.at) ?? { at: e.at, events: [] };
    m.events.push({ kind: e.kind, text: e.text });
    byTime.set(e.at, m);
  }
  return [...byTime.values()];
}

function remediationEvents(newestFirst: HealingState['remediations']): Event[] {
  const out: Event[] = [];
  const seen = new Set<string>();
  const drained = new Set<string>();
  // The first decision about a finding is when the loop found it. Its evictions have keys of their own
  // (one per pod), so the finding is known by its check and target.
  for (const r of [...newestFirst].reverse()) {
    const finding = `${r.check}/${r.target.kind}/${r.target.name}`;
    if (r.step !== 'condition' && !seen.has(finding)) {
      seen.add(finding);
      out.push({ at: r.at, kind: 'found', text: `found by ${r.check}: ${r.fault} fault on ${r.target.name} (${r.severity})` });
    }
    if (r.decision !== 'acted') continue;
    const step = STEPS[r.step];
    if (step) out.push({ at: r.at, kind: step.kind, text: `${r.target.name} ${step.words}` });
    // A drain is marked once per node: the drain step, or the first eviction of a node drained at once (fatal).
    const firstDrain = (r.step === 'drain' || (r.step === 'evict' && r.target.kind === 'Node')) && !drained.has(r.target.name);
    if (firstDrain) drained.add(r.target.name);
    if (firstDrain && r.step === 'evict') out.push({ at: r.at, kind: 'drain', text: `${r.target.name} drained at once (fatal): pods evicted` });
  }
  return out;
}
