/**
 * The ONNX embedder's thread: loads the model named in workerData, then answers embed requests one at
 * a time (a second request waits for the first, so two batches never fight over onnxruntime's threads).
 * Built as its own bundle (dist/embeddingWorker.js); run from sources through tsx in tests and benchmarks.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EMBEDDER_ROLE, EmbedderLoadError, type FromWorker, type ToWorker } from './onnxProtocol.js';
import { loadOnnxModel, type OnnxModelOptions } from './onnxModel.js';

interface EmbedderJob {
  readonly role: typeof EMBEDDER_ROLE;
  readonly options: OnnxModelOptions;
}

async function serve(job: EmbedderJob): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(message, transfer);
  };
  let model;
  try {
    model = await loadOnnxModel(job.options);
  } catch (error) {
    if (error instanceof EmbedderLoadError) send({ type: 'failed', message: error.message, kind: error.kind });
    else send({ type: 'failed', message: `the ONNX embedder could not start (${error instanceof Error ? error.message : String(error)})`, kind: 'worker' });
    port.close();
    return;
  }
  const loaded = model;
  send({ type: 'ready', info: loaded.info });
  let queue = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    queue = queue.then(async () => {
      if (message.type === 'dispose') {
        await loaded.dispose();
        send({ type: 'disposed' });
        port.close();
        return;
      }
      try {
        const data = await loaded.embed(message.texts, message.maxTokens);
        send({ type: 'vectors', id: message.id, data }, [data.buffer as ArrayBuffer]);
      } catch (error) {
        send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
}

if (!isMainThread && (workerData as Partial<EmbedderJob> | null)?.role === EMBEDDER_ROLE) void serve(workerData as EmbedderJob);
