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
