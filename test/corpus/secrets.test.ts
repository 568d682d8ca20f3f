import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECRET_RULES, scrubSecrets, SECRET_PLACEHOLDER } from '../../extension/corpus/secrets';
import { plantedSecrets, secretsFile } from './helpers';

/** Code that only looks like it holds secrets: nothing is counted, nothing changes. */
function assertLeftAlone(code: string): void {
  const result = scrubSecrets(code);
  assert.deepEqual(result.counts, {});
  assert.equal(result.text, code);
}

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

test('each planted secret is caught by its own rule, alone', () => {
  for (const [rule, secret, line] of plantedSecrets()) {
    const result = scrubSecrets(line);
    assert.deepEqual(result.counts, { [rule]: 1 }, line);
    assert.ok(!result.text.includes(secret), `${rule} leaked: ${result.text}`);
  }
});

// [input, expected output]; the secret-shaped parts are joined at run time (see helpers.ts).
const pw = 'Tr0ub4dor' + '3xQ9z';
const connectionStrings: [string, string][] = [
  [`DATABASE_URL=postgres://admin:${pw}@db.example.com:5432/app`, 'DATABASE_URL=postgres://admin:<secret>@db.example.com:5432/app'],
  [`engine = create_engine("mysql+pymysql://root:S3cr3t${'Passw0rd'}@localhost/db")`, 'engine = create_engine("mysql+pymysql://root:<secret>@localhost/db")'],
  [`MONGO = "mongodb+srv://svc:${pw}@cluster0.ab1cd.mongodb.net/?retryWrites=true"`, 'MONGO = "mongodb+srv://svc:<secret>@cluster0.ab1cd.mongodb.net/?retryWrites=true"'],
  [`cache: redis://:p4ssW0rd${'Z9xK'}@cache:6379/0`, 'cache: redis://:<secret>@cache:6379/0'],
  [`url = "jdbc:postgresql://app:${pw}@db/prod"`, 'url = "jdbc:postgresql://app:<secret>@db/prod"'],
];
for (const [input, expected] of connectionStrings) {
  test(`connection string: the password goes, scheme, user and host stay: ${expected}`, () => {
    const result = scrubSecrets(input);
    assert.equal(result.text, expected);
    assert.deepEqual(result.counts, { 'connection-string-password': 1 });
  });
}

test('connection strings without a literal password are left alone', () => {
  const code = [
    'url = "postgres://app:${DB_PASSWORD}@db/prod"',
    'url = f"postgres://{user}:{password}@{host}/{name}"',
    'dsn = "mysql://%s:%s@%s/%s" % (user, pw, host, db)',
    'DATABASE_URL=postgres://user:password@localhost/app',
    'DATABASE_URL=postgres://postgres:changeme@localhost/app',
    'redis_url = "redis://localhost:6379/0"',
    'link = "https://example.com/a:b"',
    'see https://example.com:8443/path?next=a@b',
    'git clone git@github.com:org/repo.git',
    'remote = "ssh://git@example.com:2222/repo.git"',
    'url: "https://<user>:<password>@host/path"',
  ].join('\n');
  assertLeftAlone(code);
});

const passwords: [string, string][] = [
  ['spring.datasource.password=Summer2024', 'spring.datasource.password=<secret>'],
  ['password = "correcthorsebattery"', 'password = "<secret>"'],
  ['password = "correct horse battery staple"', 'password = "<secret>"'],
  ["DB_PASSWORD: 'letmein-please'", "DB_PASSWORD: '<secret>'"],
  ['{"user": "svc", "dbPassword": "Summer2024"}', '{"user": "svc", "dbPassword": "<secret>"}'],
  ["$password = 'Summer2024';", "$password = '<secret>';"],
  ["'password' => 'Summer2024',", "'password' => '<secret>',"],
  ['PGPASSWORD=Summer2024 psql -h db', 'PGPASSWORD=<secret> psql -h db'],
  ['conn = connect(user="u", passwd="Summer 2024!")', 'conn = connect(user="u", passwd="<secret>")'],
  ['auth: { user: "mailer", pass: "Summer2024" }', 'auth: { user: "mailer", pass: "<secret>" }'],
  ['ADMIN_PWD=hunter2hunter2', 'ADMIN_PWD=<secret>'],
  ['ssh_key_passphrase: "my dog has fleas"', 'ssh_key_passphrase: "<secret>"'],
  // A bcrypt hash starts with `$` but is not a `$VAR` reference.
  ['password = "$2b$12$' + 'R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"', 'password = "<secret>"'],
];
for (const [input, expected] of passwords) {
  test(`password-like names lose any literal value of 8+ characters: ${input}`, () => {
    const result = scrubSecrets(input);
    assert.equal(result.text, expected);
  });
}

test('password-like names with references, placeholders, code or labels are left alone', () => {
  const code = [
    'password = getPassword()',
    'password = os.getenv("DB_PASSWORD")',
    'password = os.environ["DB_PASSWORD"]',
    'password = process.env.DB_PASSWORD',
    'password = "${DB_PASSWORD}"',
    'password: ${DB_PASSWORD}',
    'password = "<your password>"',
    'password = "changeme"',
    'password = "********"',
    'password = "hunter2"',
    'password = new_password',
    'password: string;',
    'password: Optional[str] = None',
    'if password == "correcthorse": pass',
    'password_hint = "first pet name"',
    'passwordLength = 12345678',
    'bypass = "the cache layer"',
    'compass_heading = "north by northwest"',
    'print("Password: " + username + "!")',
    'label = "Password: " + user.name + " (expired)"',
    '"password": "Enter your password",',
    'AttributeOID.CHALLENGE_PASSWORD: "challengePassword",',
    'password_env = "DB_PASSWORD"',
    'password = "%(password)s" % values',
  ].join('\n');
  assertLeftAlone(code);
});

const shapes: [rule: string, input: string, expected: string][] = [
  ['authorization-header', 'curl -H "Authorization: Bearer ' + 'Zk3Lq9Wm4Xn7Rp1Ts5Vy8Bc3"', 'curl -H "Authorization: Bearer <secret>"'],
  ['authorization-header', 'Authorization: Basic ' + Buffer.from('ci:' + 'Pq7Lm2Xz').toString('base64'), 'Authorization: Basic <secret>'],
  ['openai-key', 'OPENAI = "sk-' + 'Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9No2Qr5Tu"', 'OPENAI = "<secret>"'],
  ['openai-key', 'key = "sk-' + 'proj-Xk4mQ9Lr2TzW7vNp3BcY8dHf1JsG6aEu0RiK5oPl_T3Blbk"', 'key = "<secret>"'],
  ['npm-token', '//registry.npmjs.org/:_authToken=npm_' + 'Rb7Kx2Mq9Lz4Wn8Tp3Vc6Yh1Jd5Gf0SaEu2K', '//registry.npmjs.org/:_authToken=<secret>'],
  ['gitlab-token', 'GITLAB = "glpat-' + 'Zq8Xm3Lk7Rw2Np9Tv4Bc"', 'GITLAB = "<secret>"'],
  ['sendgrid-key', 'SENDGRID = "SG.' + 'Ab3Cd5Ef7Gh9Ij1Kl3Mn5P.Qr7St9Uv1Wx3Yz5Ab7Cd9Ef1Gh3Ij5Kl7Mn9Op1Qr3"', 'SENDGRID = "<secret>"'],
  ['stripe-key', 'hook = "whsec_' + 'Mz8Kq2Lp7Xw4Rn9Tv3Bc6Hd1Jf5Gs0Ae"', 'hook = "<secret>"'],
  ['slack-token', 'app = "xapp-' + '1-A01BCDEF23G-4567890123456-a1b2c3d4e5f6"', 'app = "<secret>"'],
  ['discord-webhook', 'url = "https://discord.com/api/webhooks/' + '112233445566778899/Qw3rTy7UiOp1AsDfGh5JkLzXcV9bN2"', 'url = "<secret>"'],
];
for (const [rule, input, expected] of shapes) {
  test(`${rule}: ${expected}`, () => {
    const result = scrubSecrets(input);
    assert.equal(result.text, expected);
    assert.deepEqual(result.counts, { [rule]: 1 });
  });
}

test('tokens in name only, templates and placeholders are not credentials', () => {
  const code = [
    'headers = {"Authorization": `Bearer ${token}`}',
    'headers["Authorization"] = "Bearer " + token',
    'auth = f"Bearer {access_token}"',
    'curl -H "Authorization: Bearer YOUR_ACCESS_TOKEN_HERE"',
    'curl -H "Authorization: Bearer $TOKEN"',
    '# basic authentication is disabled; bearer tokenization happens upstream',
    'Basic configuration options follow.',
    '<div class="sk-fading-circle sk-circle-bounce-delay-long"></div>',
    'const spinner = "sk-three-bounce-animation-wrapper";',
    'set npm_config_registry_url_override_value 1',
  ].join('\n');
  assertLeftAlone(code);
});

function pem(label: string): string {
  const body = Array.from({ length: 4 }, (_, i) => ('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC' + i).repeat(2).slice(0, 64)).join('\n');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

test('base64-encoded private keys (Kubernetes secrets, kubeconfig) go, wrapped or not; certificates stay', () => {
  const key = Buffer.from(pem('RSA ' + 'PRIVATE KEY')).toString('base64');
  const cert = Buffer.from(pem('CERTIFICATE')).toString('base64');
  const wrapped = key.match(/.{1,76}/g)!.join('\n    ');
  const yaml = [
    'users:',
    '- name: admin',
    '  user:',
    `    client-certificate-data: ${cert}`,
    `    client-key-data: ${key}`,
    'data:',
    `  tls.key: |`,
    `    ${wrapped}`,
    '  other: value',
  ].join('\n');
  const result = scrubSecrets(yaml);
  assert.deepEqual(result.counts, { 'private-key-base64': 2 });
  assert.equal(
    result.text,
    ['users:', '- name: admin', '  user:', `    client-certificate-data: ${cert}`, '    client-key-data: <secret>', 'data:', '  tls.key: |', '    <secret>', '  other: value'].join('\n'),
  );
});

test('a PuTTY .ppk body goes; the header, public lines and MAC stay', () => {
  const priv = ['AAAAIQ' + 'Cx7Kq2Lm9Zr4Wn8Tp3Vc6Yh1Jd5Gf0SaEu2KRb7Kx2Mq9Lz4W', 'n8Tp3Vc6Yh1Jd5Gf0Sa' + 'Eu2K='];
  const ppk = ['PuTTY-User-Key-File-2: ssh-rsa', 'Encryption: none', 'Comment: ci', 'Public-Lines: 1', 'AAAAB3NzaC1yc2EAAAADAQABAAAAgQC', 'Private-Lines: 2', ...priv, 'Private-MAC: 8c1d2e3f4a5b'].join('\r\n') + '\r\n';
  const result = scrubSecrets(ppk);
  assert.deepEqual(result.counts, { 'putty-private-key': 1 });
  assert.equal(result.text, ppk.replace(priv.join('\r\n'), '<secret>'));
});

test('a short word after a Private-Lines header is not key material', () => {
  for (const text of ['Private-Lines: 1\nfoo\n', 'Private-Lines: 2\nreturn\ntotal\n']) {
    assert.deepEqual(scrubSecrets(text).counts, {}, text);
  }
});

test('a PEM private key whose END marker is missing is scrubbed to the end of the text', () => {
  const begin = '-----BEGIN ' + 'OPENSSH PRIVATE KEY-----';
  const body = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
  const code = `def setup():\n    return 1\n\nKEY = """${begin}\n${body}\n${body.split('').reverse().join('')}\n`;
  const result = scrubSecrets(code);
  assert.deepEqual(result.counts, { 'private-key': 1 });
  assert.equal(result.text, 'def setup():\n    return 1\n\nKEY = """<secret>');
  // In a string literal with escaped newlines, and with PEM headers before the body.
  const escaped = `k = "${begin}\\nProc-Type: 4,ENCRYPTED\\nDEK-Info: AES-128-CBC,0A1B2C3D\\n\\n${body}\\n`;
  assert.equal(scrubSecrets(escaped).text, 'k = "<secret>');
});
