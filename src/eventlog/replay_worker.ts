/**
 * The worker thread of {@link replayLogs} when it splits IMA banks: replays the same files in
 * the banks it was given, with the same code, and posts the register values back.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { replayLogs, type BankWorkerInput } from './replay_logs.js';

const input = workerData as BankWorkerInput;
const r = await replayLogs(input.paths, input.opts);
parentPort?.postMessage(r.registers);
