/**
 * The worker thread of `foldImaSnapshotsParallel` (`ima_layer_fold.ts`): folds its banks over the shared list
 * with the same code as the calling thread and posts its part back.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { foldImaPart, type ImaFoldWorkerInput } from './ima_layer_fold.js';

const input = workerData as ImaFoldWorkerInput;
parentPort?.postMessage(foldImaPart(input.data, input.banks, input.counts, false, input.start));
