// Runs a differential script against one daemon and records a normalised transcript:
// for each step, the messages on the issuing connection up to its reply, then what every
// connection has received after a barrier (watch events fired by the step).

import { type XsMessage, XsType, parseStrings, xsTypeName } from '../../shared/xenstore/wire';
import { CONN_COUNT, type Step } from './differential-script';
import { retryConnect } from '../helpers/real-xenstored';
import { RawConn } from './raw-conn';

export interface StepRecord {
  label: string;
  /** Issuing connection: events that came before the reply, then the reply. */
  reply: string[];
  /** Per connection, the watch events that arrived after the reply (barrier-drained). */
  events: string[][];
}

/** A message as one line: type, req_id, tx_id (slot name when known) and payload. */
export function describe(m: XsMessage, txName: (id: number) => string): string {
  const text = JSON.stringify(m.payload.toString('latin1'));
  return `${xsTypeName(m.type)} req=${m.reqId} tx=${txName(m.txId)} ${text}`;
}

export async function runScript(socketPath: string, steps: Step[]): Promise<StepRecord[]> {
  const conns: RawConn[] = [];
  for (let i = 0; i < CONN_COUNT; i++) conns.push(await retryConnect(() => RawConn.connect(socketPath)));
  const slotToId = new Map<number, number>();
  // Transaction ids differ between daemons by design (C xenstored numbers them per
  // connection, ours globally); show them as their script slot, per connection.
  const idToSlot = Array.from({ length: CONN_COUNT }, () => new Map<number, number>());
  const txNameOn =
    (conn: number) =>
    (id: number): string =>
      id === 0 ? '0' : idToSlot[conn]!.has(id) ? `<tx${idToSlot[conn]!.get(id)}>` : String(id);
  const records: StepRecord[] = [];
  try {
    for (const step of steps) {
      const conn = conns[step.conn]!;
      const txId = step.rawTxId ?? (step.txSlot !== undefined ? (slotToId.get(step.txSlot) ?? 0) : 0);
      let msgs: XsMessage[];
      try {
        msgs = await conn.requestMany([{ type: step.type, payload: step.payload, txId }, ...(step.pipelined ?? [])]);
      } catch (e) {
        if (!conn.closed) throw e;
        // The daemon dropped the connection: record that and carry on with a fresh one.
        conns[step.conn] = await retryConnect(() => RawConn.connect(socketPath));
        records.push({ label: `${'ABC'[step.conn]}: ${step.label}`, reply: ['<connection closed by the daemon>'], events: [] });
        continue;
      }
      const reply = msgs[msgs.length - 1]!;
      if (step.startsSlot !== undefined && reply.type === XsType.XS_TRANSACTION_START) {
        const id = Number(parseStrings(reply.payload)[0]);
        slotToId.set(step.startsSlot, id);
        idToSlot[step.conn]!.set(id, step.startsSlot);
      }
      const txName = txNameOn(step.conn);
      const lines = msgs.map((m) => {
        if (m === reply && step.startsSlot !== undefined && m.type === XsType.XS_TRANSACTION_START) {
          return `${xsTypeName(m.type)} req=${m.reqId} tx=${txName(m.txId)} "<tx${step.startsSlot}>\\u0000"`;
        }
        return describe(m, txName);
      });
      const events: string[][] = [];
      for (const [i, c] of conns.entries()) events.push((await c.drain()).map((m) => describe(m, txNameOn(i))));
      records.push({ label: `${'ABC'[step.conn]}: ${step.label}`, reply: lines, events });
    }
  } finally {
    for (const c of conns) c.close();
  }
  return records;
}

/** A difference the comparison accepts, with the reason it is not a bug. */
export interface KnownDifference {
  name: string;
  reason: string;
  /** True when the two records differ only in this accepted way. */
  matches(label: string, ours: StepRecord, real: StepRecord): boolean;
}

export interface Comparison {
  compared: number;
  identical: number;
  accepted: Map<string, number>;
  mismatches: Array<{ index: number; label: string; ours: StepRecord; real: StepRecord }>;
}

const sameRecord = (a: StepRecord, b: StepRecord): boolean => JSON.stringify([a.reply, a.events]) === JSON.stringify([b.reply, b.events]);

export function compareTranscripts(ours: StepRecord[], real: StepRecord[], known: KnownDifference[]): Comparison {
  const result: Comparison = { compared: 0, identical: 0, accepted: new Map(), mismatches: [] };
  for (let i = 0; i < Math.max(ours.length, real.length); i++) {
    const o = ours[i];
    const r = real[i];
    if (!o || !r) throw new Error(`transcripts differ in length (${ours.length} vs ${real.length})`);
    result.compared++;
    if (sameRecord(o, r)) {
      result.identical++;
      continue;
    }
    const k = known.find((d) => d.matches(o.label, o, r));
    if (k) result.accepted.set(k.name, (result.accepted.get(k.name) ?? 0) + 1);
    else result.mismatches.push({ index: i, label: o.label, ours: o, real: r });
  }
  return result;
}

export function formatMismatch(m: Comparison['mismatches'][number]): string {
  const side = (rec: StepRecord): string =>
    [
      `    reply:  ${rec.reply.join('\n            ')}`,
      ...rec.events.map((ev, i) => (ev.length ? `    ${'ABC'[i]} got: ${ev.join('\n            ')}` : '')).filter(Boolean),
    ].join('\n');
  return `#${m.index} ${m.label}\n  ours:\n${side(m.ours)}\n  C xenstored:\n${side(m.real)}`;
}
