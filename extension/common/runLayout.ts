// Where each file of a training run lives (DESIGN.md "The run folder"). Knows paths only.
import { join } from 'node:path';

export interface RunLayout {
  root: string;
  runJson: string;
  corpusDir: string;
  manifest: string;
  tokenizer: string;
  trainBin: string;
  valBin: string;
  trainSpans: string;
  evalTasks: string;
  checkpointsDir: string;
  metrics: string;
  modelOnnx: string;
  modelJson: string;
  pidFile: string;
}

export function runLayout(root: string): RunLayout {
  const corpusDir = join(root, 'corpus');
  return {
    root,
    runJson: join(root, 'run.json'),
    corpusDir,
    manifest: join(corpusDir, 'manifest.json'),
    tokenizer: join(corpusDir, 'tokenizer.json'),
    trainBin: join(corpusDir, 'train.bin'),
    valBin: join(corpusDir, 'val.bin'),
    trainSpans: join(corpusDir, 'train.spans.bin'),
    evalTasks: join(corpusDir, 'eval.jsonl'),
    checkpointsDir: join(root, 'checkpoints'),
    metrics: join(root, 'metrics.jsonl'),
    modelOnnx: join(root, 'model.onnx'),
    modelJson: join(root, 'model.json'),
    pidFile: join(root, 'trainer.pid'),
  };
}
