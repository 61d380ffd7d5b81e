/**
 * The worker thread of `foldImaSnapshotsParallel` (`ima_layer_fold.ts`): folds its banks over the shared list
 * with the same code as the calling thread and posts its part back, then helps the bank whose
 * hashes are shared out (`ImaFoldHelp`) while any are left. Its part is its
 * `workerData`, or the first message when it was started ahead of the list.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runImaFoldWorker, type ImaFoldWorkerInput } from './ima_layer_fold.js';

const run = (input: ImaFoldWorkerInput): void =>
  runImaFoldWorker(input, (part) => parentPort?.postMessage(part));
// started ahead of its list (prewarmImaFoldWorkers): the part comes as the first message
if (workerData === undefined || workerData === null) parentPort?.once('message', run);
else run(workerData as ImaFoldWorkerInput);
