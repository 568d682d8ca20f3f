// Builds temporary trees for the corpus tests: the hostile tree (binary, invalid UTF-8, a 10 MB
// single line, symlink loop, symlink out of the tree, empty files, vendored folders, a .gitignore
// maze) and planted secrets. Secret-shaped strings are assembled at run time, so that this
// repository never contains one that a scanner (or a push protection) would flag.
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const FIXTURES = join(__dirname, 'fixtures');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `rd-corpus-${prefix}-`));
}

/** A scan's skipped entries as path -> reason. */
export function skipReasons(skipped: readonly { path: string; reason?: string }[]): Map<string, string | undefined> {
  return new Map(skipped.map((s) => [s.path, s.reason]));
}

export function write(root: string, rel: string, content: string | Uint8Array): void {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** A copy of the polyglot fixture, plus the files its .gitignore ignores and vendored folders. */
export function polyglotCopy(): string {
  const root = tempDir('poly');
  cpSync(join(FIXTURES, 'polyglot'), root, { recursive: true });
  write(root, 'debug.log', 'ignored by *.log\n');
  write(root, 'out/result.py', 'print("ignored by out/")\n');
  write(root, 'docs/deep/a.tmp', 'ignored by docs/**/*.tmp\n');
  write(root, 'node_modules/left-pad/index.js', 'module.exports = function leftPad(s) { return s; };\n');
  write(root, 'vendor/lib/util.go', 'package lib\n\nfunc Util() int { return 1 }\n');
  write(root, 'third_party/zlib/inflate.c', 'int inflate(void) { return 0; }\n');
  write(root, 'dist/bundle.js', 'console.log("built");\n');
  write(root, 'build/out.txt', 'built\n');
  return root;
}

const rep = (s: string, n: number) => s.repeat(n);

/** One planted value per secret rule: [rule name, secret text that must disappear, line of code planting it]. */
export function plantedSecrets(): [string, string, string][] {
  const b64 = 'MIIEowIBAAKCAQEAx4Qz' + rep('Ab9+', 16);
  const pemBody = [b64.slice(0, 64), b64.slice(0, 64).split('').reverse().join(''), 'q1w2e3r4t5y6u7i8o9p0'].join('\n');
  const begin = '-----BEGIN ' + 'RSA PRIVATE KEY-----';
  const end = '-----END ' + 'RSA PRIVATE KEY-----';
  const awsId = 'AKIA' + 'Q3EXAMPLEZ7K2M4P';
  const awsSecret = 'wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYZEXAMPLEKE';
  const gcpKey = 'AIza' + 'SyD4x9Kq2LmN8pQrStUvWxYz0123456789a';
  const gcpKeyId = '3f7a9c1e5b2d4f6a8c0e' + '1b3d5f7a9c1e3b5d7f9a';
  const gcpOauth = 'GOCSPX-' + 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1w';
  const azureKey = 'Zx8' + rep('Kq4Lm7Np', 10) + 'Rt5==';
  const azureSig = 'sv=2022-11-02&ss=b&sig=' + 'r3Tk9QmZp' + rep('X7vB2nL5', 5) + '%3D';
  const azureClient = 'abc8Q~' + 'Zk2Lq9Wm4Xn7Rp1Ts5Vy8Bc3Df6Gh0Jk';
  const ghToken = 'ghp_' + 'R8kLm2Qx7ZpT4vN9bW3yH6cJ1fD5gS0aE2uK';
  const ghPat = 'github_pat_' + '11ABCDEFG0' + rep('a1B2c3D4e5', 7) + 'xyz';
  const slackToken = 'xoxb-' + '1234567890-0987654321-' + 'AbCdEfGhIjKlMnOpQrStUvWx';
  const slackHook = 'https://hooks.slack.com/services/' + 'T01ABCDEF/B02GHIJKL/' + 'a1b2C3d4E5f6G7h8I9j0K1l2';
  const stripe = 'sk_' + 'live_' + '51HqzRtK9LmNpQ2wXyZ8vB4c';
  const jwt = 'eyJhbGciOiJIUzI1NiJ9' + '.eyJzdWIiOiIxMjM0NTY3ODkwIn0' + '.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV';
  const stripeHook = 'whsec_' + 'Mz8Kq2Lp7Xw4Rn9Tv3Bc6Hd1Jf5Gs0Ae';
  const slackApp = 'xapp-' + '1-A01BCDEF23G-4567890123456-' + 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const discordHook = 'https://discord.com/api/webhooks/' + '112233445566778899/' + 'Qw3rTy7UiOp1AsDfGh5JkLzX' + rep('cV9bN2', 5);
  const openai = 'sk-' + 'proj-' + 'Xk4mQ9Lr2TzW7vNp3BcY8dHf1JsG6aEu0RiK5oPl';
  const npmToken = 'npm_' + 'Rb7Kx2Mq9Lz4Wn8Tp3Vc6Yh1Jd5Gf0SaEu2K';
  const gitlab = 'glpat-' + 'Zq8Xm3Lk7Rw2Np9Tv4Bc';
  const sendgrid = 'SG.' + 'Ab3Cd5Ef7Gh9Ij1Kl3Mn5P' + '.' + 'Qr7St9Uv1Wx3Yz5Ab7Cd9Ef1Gh3Ij5Kl7Mn9Op1Qr3';
  const bearer = 'Zk3Lq9Wm4Xn7Rp1Ts5Vy8Bc3';
  const basic = Buffer.from('deploy:' + 'Pq7Lm2Xz9Kw4').toString('base64');
  const pemB64 = Buffer.from(`${begin}\n${pemBody}\n${end}\n`).toString('base64');
  const ppkPrivate = 'AAAAIB' + rep('x7Kq2Lm9', 5) + 'Zr4=';
  const ppk = ['PuTTY-User-Key-File-3: ssh-ed25519', 'Encryption: none', 'Comment: deploy', 'Public-Lines: 1', 'AAAAC3NzaC1lZDI1NTE5AAAAIPb8', 'Private-Lines: 1', ppkPrivate, 'Private-MAC: 0a1b2c3d'].join('\n');
  const dbPassword = 'Tr0ub4dor' + '3xQ9z';
  const humanPassword = 'Summer' + '2024';
  const passphrase = 'correct horse ' + 'battery staple';
  const assigned = 'Zr8#kP2!vQ9@mX4$wL7t';
  const assignedYaml = 'q8Hn3Vb6Tk1Jx5Mz0Lc9';
  return [
    ['private-key', pemBody.split('\n')[0], `KEY = """${begin}\n${pemBody}\n${end}"""`],
    ['aws-access-key-id', awsId, `aws_access_key_id = "${awsId}"`],
    ['aws-secret-access-key', awsSecret, `aws_secret_access_key = ${awsSecret}`],
    ['gcp-api-key', gcpKey, `const mapsKey = "${gcpKey}";`],
    ['gcp-service-account-key-id', gcpKeyId, `{"type": "service_account", "private_key_id": "${gcpKeyId}"}`],
    ['gcp-oauth-secret', gcpOauth, `oauth_client = "${gcpOauth}"`],
    ['azure-storage-key', azureKey, `conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${azureKey};EndpointSuffix=core.windows.net"`],
    ['azure-sas-signature', azureSig.split('sig=')[1], `url = "https://acct.blob.core.windows.net/c?${azureSig}"`],
    ['azure-client-secret', azureClient, `AZURE_CLIENT = "${azureClient}"`],
    ['github-token', ghToken, `headers = {"Authorization": "token ${ghToken}"}`],
    ['github-token', ghPat, `gh = Github("${ghPat}")`],
    ['slack-token', slackToken, `slack = WebClient("${slackToken}")`],
    ['slack-webhook', slackHook, `HOOK = "${slackHook}"`],
    ['stripe-key', stripe, `stripe.api = "${stripe}"`],
    ['jwt', jwt, `const session = "${jwt}";`],
    ['assigned-secret', assigned, `db_password = "${assigned}"`],
    ['assigned-secret', assignedYaml, `api_key: ${assignedYaml}`],
    ['stripe-key', stripeHook, `STRIPE_WEBHOOK = "${stripeHook}"`],
    ['slack-token', slackApp, `socket = SocketModeClient(app_token_value="${slackApp}")`],
    ['discord-webhook', discordHook.slice(discordHook.lastIndexOf('/') + 1), `DISCORD = "${discordHook}"`],
    ['openai-key', openai, `client = OpenAI(api_key_value="${openai}")`],
    ['npm-token', npmToken, `NPM_AUTH = "//registry.npmjs.org/:_authToken=${npmToken}"`],
    ['gitlab-token', gitlab, `gl = gitlab.Gitlab(url, "${gitlab}")`],
    ['sendgrid-key', sendgrid, `sg = SendGridAPIClient("${sendgrid}")`],
    ['authorization-header', bearer, `headers = {"Authorization": "Bearer ${bearer}"}`],
    ['authorization-header', basic, `curl_args = ["-H", "Authorization: Basic ${basic}"]`],
    ['private-key-base64', pemB64.slice(20, 80), `KUBECONFIG_KEY = "client-key-data: ${pemB64}"`],
    ['putty-private-key', ppkPrivate, `PPK = """${ppk}\n"""`],
    ['connection-string-password', dbPassword, `DATABASE_URL = "postgres://admin:${dbPassword}@db.example.com:5432/app"`],
    ['password', humanPassword, `spring_datasource_password = ${humanPassword}`],
    ['password', passphrase, `passphrase = "${passphrase}"`],
  ];
}

/** A file planting every secret rule, in Python-like syntax. */
export function secretsFile(): string {
  return ['# settings for the payment service', ...plantedSecrets().map(([, , line]) => line), '', 'def connect():', '    return None', ''].join('\n');
}

export function symlinkSafe(target: string, path: string, type?: 'dir' | 'file'): boolean {
  try {
    symlinkSync(target, path, type);
    return true;
  } catch {
    return false;
  }
}
