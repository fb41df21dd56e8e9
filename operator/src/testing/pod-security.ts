/**
 * The Pod Security Standards' `restricted` profile (which includes `baseline`) as a pure check of a pod spec, as the
 * API server's PodSecurity admission applies it to a namespace labelled `pod-security.kubernetes.io/enforce:
 * restricted` (policy version "latest", Kubernetes 1.34): the unit tests run it over every pod template the operator
 * generates, so a change that would be refused there fails a unit test first. The end-to-end tier labels its
 * namespaces so, and the API server itself has the last word. Returns one line per violation; [] passes.
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
import type { V1Capabilities, V1PodSpec, V1SeccompProfile, V1SecurityContext } from '@kubernetes/client-node';

/** Volume types `restricted` allows (everything else, hostPath first, is refused). */
const allowedVolumeTypes = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** The sysctls `baseline` calls safe (namespaced, no effect beyond the pod). */
const safeSysctls = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const allowedSelinuxTypes = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);

interface NamedContainer {
  name: string;
  securityContext?: V1SecurityContext;
  ports?: { hostPort?: number }[];
}

const seccompOk = (p: V1SeccompProfile | undefined) =>
  p?.type === 'RuntimeDefault' || p?.type === 'Localhost';

/** What is wrong with `spec` under `restricted`: one line per violation, naming the container or volume. */
export function restrictedViolations(spec: V1PodSpec, annotations: Record<string, string> = {}): string[] {
  const out: string[] = [];
  const pod = spec.securityContext ?? {};
  const containers: NamedContainer[] = [
    ...(spec.initContainers ?? []),
    ...spec.containers,
    ...((spec.ephemeralContainers ?? []) as NamedContainer[]),
  ];

  // --- baseline ---------------------------------------------------------------------------------
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    if (spec[field]) out.push(`${field} must not be true`);
  if (pod.windowsOptions?.hostProcess)
    out.push('pod securityContext.windowsOptions.hostProcess must not be true');
  for (const s of pod.sysctls ?? [])
    if (!safeSysctls.has(s.name)) out.push(`sysctl ${s.name} is not in the safe set`);
  const podSelinux = pod.seLinuxOptions;
  if (podSelinux && (!allowedSelinuxTypes.has(podSelinux.type ?? '') || podSelinux.user || podSelinux.role))
    out.push('pod securityContext.seLinuxOptions sets a custom type, user or role');
  if (pod.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(pod.appArmorProfile.type))
    out.push(`pod appArmorProfile ${pod.appArmorProfile.type} is not allowed`);
  for (const [k, v] of Object.entries(annotations))
    if (
      k.startsWith('container.apparmor.security.beta.kubernetes.io/') &&
      v !== 'runtime/default' &&
      !v.startsWith('localhost/')
    )
      out.push(`annotation ${k}=${v} is not an allowed AppArmor profile`);

  // --- restricted: pod level --------------------------------------------------------------------
  for (const v of spec.volumes ?? []) {
    const types = Object.keys(v).filter(
      (k) => k !== 'name' && (v as unknown as Record<string, unknown>)[k] !== undefined,
    );
    for (const t of types) if (!allowedVolumeTypes.has(t)) out.push(`volume ${v.name} is of type ${t}`);
  }
  if (pod.runAsUser === 0) out.push('pod securityContext.runAsUser must not be 0');
  if (pod.seccompProfile && !seccompOk(pod.seccompProfile))
    out.push(`pod seccompProfile ${pod.seccompProfile.type} is not allowed`);

  // --- per container ------------------------------------------------------------------------------
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) out.push(`${where} must not be privileged`);
    if (sc.procMount && sc.procMount !== 'Default') out.push(`${where} procMount must be Default`);
    if (sc.windowsOptions?.hostProcess) out.push(`${where} windowsOptions.hostProcess must not be true`);
    const se = sc.seLinuxOptions;
    if (se && (!allowedSelinuxTypes.has(se.type ?? '') || se.user || se.role))
      out.push(`${where} seLinuxOptions sets a custom type, user or role`);
    if (sc.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(sc.appArmorProfile.type))
      out.push(`${where} appArmorProfile ${sc.appArmorProfile.type} is not allowed`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${where} uses hostPort ${p.hostPort}`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where} must set allowPrivilegeEscalation: false`);
    // runAsNonRoot: the container's own setting wins over the pod's.
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) out.push(`${where} must run with runAsNonRoot: true (pod or container)`);
    if (sc.runAsUser === 0) out.push(`${where} runAsUser must not be 0`);
    // seccomp: the container's profile wins; without one the pod's applies.
    const seccomp = sc.seccompProfile ?? pod.seccompProfile;
    if (!seccompOk(seccomp))
      out.push(`${where} needs seccompProfile RuntimeDefault or Localhost (pod or container)`);
    out.push(...capabilityViolations(where, sc.capabilities));
  }
  return out;
}

function capabilityViolations(where: string, caps: V1Capabilities | undefined): string[] {
  const out: string[] = [];
  if (!caps?.drop?.includes('ALL')) out.push(`${where} must drop ALL capabilities`);
  for (const add of caps?.add ?? [])
    if (add !== 'NET_BIND_SERVICE')
      out.push(`${where} adds capability ${add} (only NET_BIND_SERVICE may be added)`);
  return out;
}
