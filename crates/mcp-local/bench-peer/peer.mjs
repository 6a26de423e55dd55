// Benchmark-only peer: llama.cpp (node-llama-cpp's prebuilt CPU build) on the same GGUF and the
// same prompt tokens as mcp-local's benchmark. Usage:
//   node peer.mjs PROMPTS.json [REPEATS] [THREADS]
// PROMPTS.json: {"model": "path.gguf", "prompts": [{"name": ..., "tokens": [...], "generate": 64}]}
// (written by
// `cargo bench -p mcp-local --bench generate`). Prints one JSON line per prompt (the best of
// REPEATS runs, each from an empty KV cache) and one for the load.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { readFileSync } from "node:fs";

const [promptsPath, repeatsArg, threadsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg ?? 3);
const threads = Number(threadsArg ?? 2);
const { model: modelPath, prompts } = JSON.parse(readFileSync(promptsPath, "utf8"));
const rssMb = () => process.memoryUsage.rss() / 2 ** 20;
const rssBefore = rssMb();

const t0 = performance.now();
const llama = await getLlama({
  gpu: false,
  build: "never",
  logLevel: LlamaLogLevel.error,
  maxThreads: threads,
});
const tLib = performance.now();
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 2048, threads, batchSize: 512 });
const sequence = context.getSequence();
const tLoaded = performance.now();

for (const p of prompts) {
  let best = null;
  for (let r = 0; r < repeats; r++) {
    await sequence.clearHistory();
    const start = performance.now();
    let first = null;
    let last = null;
    let n = 0;
    for await (const _token of sequence.evaluate(p.tokens, { temperature: 0, yieldEogToken: true })) {
      last = performance.now();
      if (first === null) first = last;
      if (++n >= p.generate) break;
    }
    const run = {
      ttft_ms: first - start,
      gen_ms: last - first,
      generated: n,
    };
    if (best === null || run.ttft_ms + run.gen_ms < best.ttft_ms + best.gen_ms) best = run;
  }
  console.log(JSON.stringify({
    impl: "llama.cpp",
    prompt: p.name,
    prompt_tokens: p.tokens.length,
    ttft_ms: best.ttft_ms,
    prompt_tok_s: p.tokens.length / (best.ttft_ms / 1e3),
    generated: best.generated,
    gen_tok_s: (best.generated - 1) / (best.gen_ms / 1e3),
  }));
}
console.log(JSON.stringify({
  impl: "llama.cpp",
  load_ms: tLoaded - tLib,
  lib_ms: tLib - t0,
  rss_before_mb: rssBefore,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  threads: context.currentThreads,
}));
await context.dispose();
await model.dispose();
await llama.dispose();
