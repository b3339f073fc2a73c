// Fuzz of the architectures read from a user's config.json (Qwen2/3, Mistral, Gemma-2/3,
// Phi-3, the Gemma-3 multimodal wrapper): each real-shaped fixture with one hostile field
// gives a ModelSpec with finite sizes and string notes, or an InputError naming the field.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelConfig } from '../../lib/models/index.js';
import { paramCounts } from '../../lib/models/params.js';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { assertAllFinite, expectCleanOutcome, FC_RUN, HOSTILE_NUMBERS, HOSTILE_STRINGS, tallies, withOneMutation } from './harness.js';

const FIXTURES = ['qwen3-8b', 'mistral-7b-v0.3', 'gemma-2-9b', 'gemma-3-1b', 'phi-3-mini'].map((n) => JSON.parse(readFileSync(join(batchlabRoot(), 'test/fixtures/models', `${n}.json`), 'utf8')) as Record<string, unknown>);
FIXTURES.push(JSON.parse(readFileSync(join(batchlabRoot(), 'data/examples/models/qwen2.5-7b/config.json'), 'utf8')));
const { architectures: _a, model_type: _t, ...gemma3Text } = FIXTURES[3];
FIXTURES.push({ architectures: ['Gemma3ForConditionalGeneration'], text_config: gemma3Text });

const PATHS = ['architectures', 'model_type', 'hidden_size', 'num_hidden_layers', 'vocab_size', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'intermediate_size',
  'tie_word_embeddings', 'sliding_window', 'sliding_window_pattern', 'use_sliding_window', 'max_window_layers', 'layer_types', 'attention_bias', 'attn_logit_softcapping',
  'text_config', 'text_config.num_attention_heads', 'text_config.sliding_window_pattern', 'text_config.layer_types', '__proto__', 'constructor'];
// A nested path only where its parent exists (text_config is in the wrapped fixture alone).
const pathsOf = (c: Record<string, unknown>): string[] => PATHS.filter((p) => !p.includes('.') || typeof c[p.split('.')[0]] === 'object');
const HOSTILE = [...HOSTILE_NUMBERS, ...HOSTILE_STRINGS, null, undefined, true, [], {}, ['sliding_attention'], ['Gemma3ForConditionalGeneration'], ['Qwen2ForCausalLM']];

test('fuzz loadModelConfig on the user architectures: one hostile field gives finite sizes and string notes, or an InputError', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: FIXTURES.length - 1 }),
      fc.record({ path: fc.nat(), value: fc.nat(), mutate: fc.boolean() }),
      (f, m) =>
        expectCleanOutcome('loadModelConfig (user architectures)', () => loadModelConfig(withOneMutation(FIXTURES[f], pathsOf(FIXTURES[f]), HOSTILE, m)), (spec) => {
          assert.ok(spec.hiddenSize >= 1 && spec.numLayers >= 1 && spec.slidingLayers >= 0 && spec.slidingLayers <= spec.numLayers);
          assert.ok((spec.notes ?? []).every((n) => typeof n === 'string' && n.length > 0));
          assertAllFinite(spec);
          assert.ok(paramCounts(spec).total > 0);
        }),
    ),
    FC_RUN,
  );
});

after(() => {
  for (const [name, t] of tallies) console.log(`fuzz ${name}: ${t.inputs} inputs, ${t.ok} results, ${t.inputErrors} InputErrors, 0 other outcomes`);
});
