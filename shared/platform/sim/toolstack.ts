// The toolstack's half of a PV device, as libxl does it (tools/libs/light/libxl_device.c):
// libxl__device_generic_add writes both ends in one transaction; removal follows
// libxl__initiate_device_generic_remove (online=0, state=5, wait for 6, then rm).
// Used by the simulator and the demo; on a real host xl/libxl does this.

import { xerror } from '../../errors';
import { type Perm, parsePerms, type XsClient } from '../../xenstore/client';
import { isValidDomid } from './layout';

/** libxl's LIBXL_DESTROY_TIMEOUT: how long removal waits for the backend to reach Closed. */
export const LIBXL_DESTROY_TIMEOUT_MS = 10_000;

// xen/include/public/io/xenbus.h
const XenbusStateInitialising = 1;
const XenbusStateClosing = 5;
const XenbusStateClosed = 6;

export type SimDeviceKind = 'vfb' | 'vkbd';

export interface DeviceSpec {
  kind: SimDeviceKind;
  /** Frontend (guest) domain. */
  domid: number;
  devid: number;
  backendDomid?: number;
  /** Extra backend nodes (vfb: vnc, videoram, ...; vkbd: features). */
  backendNodes?: Record<string, string>;
  /** Extra frontend nodes. */
  frontendNodes?: Record<string, string>;
}

export interface DevicePaths {
  backend: string;
  frontend: string;
}

export function devicePaths(spec: Pick<DeviceSpec, 'kind' | 'domid' | 'devid' | 'backendDomid'>): DevicePaths {
  const b = spec.backendDomid ?? 0;
  for (const [what, v] of [
    ['domid', spec.domid],
    ['backendDomid', b],
  ] as const) {
    if (!isValidDomid(v)) throw xerror('DEV_E_CONFIG', `${what} ${v} is not a domid`, { [what]: v });
  }
  if (!Number.isInteger(spec.devid) || spec.devid < 0) {
    throw xerror('DEV_E_CONFIG', `devid ${spec.devid} is not a device number`, { devid: spec.devid });
  }
  return {
    backend: `/local/domain/${b}/backend/${spec.kind}/${spec.domid}/${spec.devid}`,
    frontend: `/local/domain/${spec.domid}/device/${spec.kind}/${spec.devid}`,
  };
}

/** libxl__device_generic_add: both directories, their nodes and perms, one transaction. */
export async function addDevice(xs: XsClient, spec: DeviceSpec): Promise<DevicePaths> {
  const paths = devicePaths(spec);
  const b = spec.backendDomid ?? 0;
  // Backend: [n<bdom>, r<domid>]; frontend: [n<domid>, r<bdom>] (libxl_device.c).
  const backendPerms: Perm[] = parsePerms([`n${b}`, `r${spec.domid}`]);
  const frontendPerms: Perm[] = parsePerms([`n${spec.domid}`, `r${b}`]);
  const backendNodes: Record<string, string> = {
    frontend: paths.frontend,
    'frontend-id': String(spec.domid),
    online: '1',
    state: String(XenbusStateInitialising),
    ...spec.backendNodes,
  };
  const frontendNodes: Record<string, string> = {
    backend: paths.backend,
    'backend-id': String(b),
    state: String(XenbusStateInitialising),
    ...spec.frontendNodes,
  };
  await xs.transaction(async (tx) => {
    await tx.rmIfExists(paths.frontend);
    await tx.rmIfExists(paths.backend);
    await tx.mkdir(paths.frontend);
    await tx.setPerms(paths.frontend, frontendPerms);
    await tx.mkdir(paths.backend);
    await tx.setPerms(paths.backend, backendPerms);
    for (const [k, v] of Object.entries(frontendNodes)) await tx.write(`${paths.frontend}/${k}`, v);
    for (const [k, v] of Object.entries(backendNodes)) await tx.write(`${paths.backend}/${k}`, v);
  });
  return paths;
}

/**
 * libxl teardown: online=0 and (unless already Closed) state=Closing in one transaction,
 * wait up to `timeoutMs` for the backend to write Closed, then remove both directories.
 * Returns whether the backend answered in time (the directories go either way).
 */
export async function removeDevice(
  xs: XsClient,
  spec: Pick<DeviceSpec, 'kind' | 'domid' | 'devid' | 'backendDomid'>,
  opts: { timeoutMs?: number } = {},
): Promise<boolean> {
  const paths = devicePaths(spec);
  const statePath = `${paths.backend}/state`;
  const present = await xs.transaction(async (tx) => {
    const state = await tx.tryRead(statePath);
    if (state === undefined) return false;
    await tx.write(`${paths.backend}/online`, '0');
    if (Number(state) !== XenbusStateClosed) await tx.write(statePath, String(XenbusStateClosing));
    return true;
  });
  const answered = present ? await waitForState(xs, statePath, XenbusStateClosed, opts.timeoutMs ?? LIBXL_DESTROY_TIMEOUT_MS) : false;
  await xs.transaction(async (tx) => {
    await tx.rmIfExists(paths.backend);
    await tx.rmIfExists(paths.frontend);
  });
  return answered;
}

async function waitForState(xs: XsClient, statePath: string, want: number, timeoutMs: number): Promise<boolean> {
  const watch = await xs.watch(statePath, 'xenvfb-sim-remove');
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const check = (): void => {
        xs.tryRead(statePath).then(
          (v) => {
            if (v !== undefined && Number(v) === want) done(true);
          },
          () => done(false),
        );
      };
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        watch.off('event', check);
        resolve(ok);
      };
      watch.on('event', check);
      check();
    });
  } finally {
    await watch.close();
  }
}
