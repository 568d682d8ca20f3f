import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECRET_RULES, scrubSecrets, SECRET_PLACEHOLDER } from '../../extension/corpus/secrets';
import { plantedSecrets, secretsFile } from './helpers';

test('every planted secret is replaced and counted under its own rule', () => {
  const result = scrubSecrets(secretsFile());
  for (const [rule, secret] of plantedSecrets()) {
    assert.ok(!result.text.includes(secret), `${rule} leaked: ${secret}`);
    assert.ok((result.counts[rule] ?? 0) >= 1, `${rule} not counted: ${JSON.stringify(result.counts)}`);
  }
  assert.ok(result.text.includes(SECRET_PLACEHOLDER));
  assert.ok(result.text.includes('def connect():'), 'code around the secrets stays');
});

test('every rule is exercised by the planted secrets', () => {
  const planted = new Set(plantedSecrets().map(([rule]) => rule));
  for (const rule of SECRET_RULES) assert.ok(planted.has(rule.name), `no planted secret for ${rule.name}`);
});

test('ordinary code that merely mentions credentials is left alone', () => {
  const code = [
    'password = os.getenv("DB_PASSWORD")',
    'token: string;',
    'const apiKey = config.apiKey;',
    'secret_name = "prod-db"',
    'password_hash = bcrypt(password)',
    'set token [lindex $args 0]',
    'TOKEN_TYPE = "Bearer"',
    'auth_token = request.headers.get("X-Token")',
    'password = "hunter2"',
    'api_key = "${API_KEY}"',
    'dict set map token ::textutil::tokenize',
    'begin {-----BEGIN RSA PRIVATE KEY-----}',
    'set end {-----END RSA PRIVATE KEY-----}',
  ].join('\n');
  const result = scrubSecrets(code);
  assert.equal(result.total, 0, JSON.stringify(result.counts));
  assert.equal(result.text, code);
});

test('scrubbing is idempotent', () => {
  const once = scrubSecrets(secretsFile()).text;
  const twice = scrubSecrets(once);
  assert.equal(twice.text, once);
  assert.equal(twice.total, 0);
});
