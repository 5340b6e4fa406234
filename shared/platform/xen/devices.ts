// What this host offers of Xen: which /dev/xen nodes exist, whether we are the control
// domain, and the translation of native device errors into the project's typed errors.

import * as fs from 'node:fs';
import { XEN_DEVICE_PATHS, type NativeError } from '../../../native';

export { XEN_DEVICE_PATHS };

/** xen/include/public/xen.h: the highest id of a real domain (DOMID_FIRST_RESERVED - 1). */
export const DOMID_MAX = 0x7fef;
/** xen/include/public/xen.h: DOMID_SELF, accepted by event channel calls. */
export const DOMID_SELF = 0x7ff0;

/** Where xenfs says what this domain may do (Linux drivers/xen/xenfs/super.c). */
export const XEN_CAPABILITIES_PATH = '/proc/xen/capabilities';

export type XenDeviceName = keyof typeof XEN_DEVICE_PATHS;

/** The /dev/xen nodes present on this host. */
export function presentXenDevices(): XenDeviceName[] {
  return (Object.keys(XEN_DEVICE_PATHS) as XenDeviceName[]).filter((name) => fs.existsSync(XEN_DEVICE_PATHS[name]));
}

/** true in dom0 (or a domain built with control rights): xenfs lists `control_d`. */
export function isControlDomain(capabilitiesPath: string = XEN_CAPABILITIES_PATH): boolean {
  try {
    return fs.readFileSync(capabilitiesPath, 'utf8').split(/\s+/).includes('control_d');
  } catch {
    return false;
  }
}

/** A failed system call from the addon (it carries errno/code/syscall), as opposed to a bad argument. */
export function isNativeError(e: unknown): e is NativeError {
  return (
    e instanceof Error && typeof (e as Partial<NativeError>).errno === 'number' && typeof (e as Partial<NativeError>).syscall === 'string'
  );
}

/** errno/code/syscall/path of a native error, for the details of a typed error wrapping it. */
export function nativeDetails(e: NativeError): Record<string, unknown> {
  return { errno: e.errno, code: e.code, syscall: e.syscall, ...(e.path !== undefined ? { path: e.path } : {}) };
}
