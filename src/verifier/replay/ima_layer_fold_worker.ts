/**
 * The worker thread of `foldImaSnapshotsParallel` (`ima_layer_fold.ts`): folds its banks over the shared list
 * with the same code as the calling thread and posts its part back. Its part is its
 * `workerData`, or the first message when it was started ahead of the list.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { foldImaPart, type ImaFoldWorkerInput } from './ima_layer_fold.js';

const run = (input: ImaFoldWorkerInput): void =>
  parentPort?.postMessage(foldImaPart(input.data, input.banks, input.counts, false, input.start));
// started ahead of its list (prewarmImaFoldWorkers): the part comes as the first message
if (workerData === undefined || workerData === null) parentPort?.once('message', run);
else run(workerData as ImaFoldWorkerInput);
