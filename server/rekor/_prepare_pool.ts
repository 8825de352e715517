/**
 * A pool of worker threads that prepare proposed entries (`_prepare.ts`), the CPU-heavy part of
 * an append: a hashedrekord entry carries only the artifact's digest, and WebCrypto cannot
 * verify a precomputed digest, so its signature is checked by OpenSSL (`_openssl_ecdsa.ts`,
 * ~0.15 ms) or else pure-JS ECDSA (~0.7 ms, about two thirds of the log thread's time when done
 * there; V8's profiler under bench/rekor_http_bench.ts). Jobs go to the worker with the fewest
 * in flight.
 * When a worker cannot start or dies, its jobs and every later one run in the calling thread
 * instead, so an append never fails for the pool's sake.
 *
 * @module
 */

import { CosignError, type ErrorCode } from "../../lib/errors.ts";
import { type PreparedEntry, prepareEntry } from "./_prepare.ts";

interface Job {
  readonly proposed: unknown;
  readonly resolve: (entry: PreparedEntry) => void;
  readonly reject: (error: unknown) => void;
}

interface Answer {
  readonly id: number;
  readonly entry?: PreparedEntry;
  readonly error?: { readonly code?: ErrorCode; readonly message: string };
}

interface Slot {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
}

/** Worker threads for `prepareEntry`, with an in-thread fallback. */
export class PreparePool {
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;

  /** Start `size` workers (none when workers are unavailable: then every job runs in-thread). */
  constructor(size: number, worker = new URL("./_prepare_worker.ts", import.meta.url)) {
    for (let i = 0; i < size; i++) {
      let thread: Worker;
      try {
        thread = new Worker(worker.href, { type: "module", name: `rekor-prepare-${i}` });
      } catch {
        break; // no workers here (a restricted runtime): prepare in-thread
      }
      const slot: Slot = { worker: thread, jobs: new Map() };
      thread.onmessage = ({ data }: MessageEvent<Answer>) => this.#answer(slot, data);
      thread.onerror = (event) => {
        event.preventDefault();
        this.#drop(slot);
      };
      this.#slots.push(slot);
    }
  }

  /** Number of live workers. */
  get size(): number {
    return this.#slots.length;
  }

  /** Prepare a proposal on the least busy worker (in this thread when none is left). */
  prepare(proposed: unknown): Promise<PreparedEntry> {
    if (this.#closed || this.#slots.length === 0) return prepareEntry(proposed);
    let slot = this.#slots[0]!;
    for (const candidate of this.#slots) {
      if (candidate.jobs.size < slot.jobs.size) slot = candidate;
    }
    const id = this.#nextId++;
    return new Promise<PreparedEntry>((resolve, reject) => {
      slot.jobs.set(id, { proposed, resolve, reject });
      try {
        slot.worker.postMessage({ id, proposed });
      } catch {
        // Not cloneable (never a parsed JSON proposal): the in-thread path says why.
        slot.jobs.delete(id);
        prepareEntry(proposed).then(resolve, reject);
      }
    });
  }

  #answer(slot: Slot, answer: Answer): void {
    const job = slot.jobs.get(answer.id);
    if (!job) return;
    slot.jobs.delete(answer.id);
    if (answer.entry) {
      const { body, ...rest } = answer.entry;
      job.resolve({ ...rest, body: new Uint8Array(body.buffer) });
    } else {
      const { code, message } = answer.error ?? { message: "no answer from the worker" };
      job.reject(code ? new CosignError(code, message) : new Error(message));
    }
  }

  /** A worker died or the pool closes: its jobs run here, and it gets no more. */
  #drop(slot: Slot): void {
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
    slot.worker.terminate();
    for (const job of slot.jobs.values()) {
      prepareEntry(job.proposed).then(job.resolve, job.reject);
    }
    slot.jobs.clear();
  }

  /** Stop the workers; jobs still in flight finish in this thread. */
  close(): void {
    this.#closed = true;
    for (const slot of [...this.#slots]) this.#drop(slot);
  }
}
