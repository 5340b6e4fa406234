// Typed errors with stable codes. Every error the project raises on purpose is listed
// here, one line each, and raised through xerror(). Tests assert on `code`, never text.

export const ErrorCodes = {
  // bytes
  BYTES_E_SHORT: 'a read ran past the end of the input',
  BYTES_E_RANGE: 'a value does not fit the field it is written to',
  BYTES_E_REENTRANT: 'a ByteWriter was written to from inside its own direct() callback',
  // xenstore wire and client
  XS_E_OVERSIZE: 'a xenstore message payload exceeds XENSTORE_PAYLOAD_MAX',
  XS_E_BAD_TYPE: 'unknown xenstore message type',
  XS_E_BAD_PAYLOAD: 'a xenstore payload does not have the fields its type needs',
  XS_E_BAD_PATH: 'a xenstore path is empty, too long, or has characters xenstored refuses',
  XS_E_BAD_PERMS: 'a xenstore permission string is malformed',
  XS_E_REPLY: 'xenstored answered with an error (see .errno)',
  XS_E_CLOSED: 'the xenstore connection closed',
  XS_E_TIMEOUT: 'xenstored did not answer in time',
  // fbif / kbdif (guest-controlled values)
  FB_E_BAD_GEOMETRY: 'framebuffer width/height/depth/stride out of range',
  FB_E_BAD_STRIDE: 'line_length does not fit width and depth',
  FB_E_BAD_MEM: 'mem_length does not cover the framebuffer or exceeds the limit',
  FB_E_BAD_PD: 'page directory entries are missing or out of range',
  FB_E_BAD_PROTOCOL: 'unknown frontend ABI in the protocol node',
  FB_E_BAD_EVENT: 'unknown or malformed event type in an fbif/kbdif ring slot',
  RING_E_OVERFLOW: 'a ring producer index is further ahead than the ring holds',
  RING_E_FULL: 'the ring has no free slot',
  // platform: grants, foreign mapping, event channels, shared memory
  GNT_E_BAD_REF: 'grant reference out of range or not in use',
  GNT_E_PERM: 'the grant does not permit this domain or this access',
  MAP_E_BAD_FRAME: 'a frame number is outside the domain memory',
  EVTCHN_E_BAD_PORT: 'event channel port not bound',
  EVTCHN_E_CLOSED: 'the event channel connection closed',
  EVTCHN_E_NO_SPACE: 'the domain has no free event channel port (Xen: ENOSPC)',
  SHM_E_NATIVE: 'a native shared-memory call failed (see errno/syscall)',
  SIM_E_NO_DOMAIN: 'the simulated domain does not exist',
  SIM_E_PROTOCOL: 'malformed message on a simulator socket',
  SIM_E_NO_MEMORY: 'the simulated guest has no free pages left for this allocation',
  SIM_E_NOT_PRIVILEGED: 'only a privileged (dom0) simulated domain may do this',
  GNT_E_FULL: 'the grant table has no free entry left',
  // devices
  DEV_E_STATE: 'unexpected xenbus state transition',
  DEV_E_CONFIG: 'a device node written by the other end is missing or malformed',
  // dirty-tile extension (docs/dirty-tiles.md)
  DT_E_BAD_PAGE: 'the dirty-tile page buffer is shorter than a page or not 8-byte aligned',
  DT_E_BAD_MAGIC: "the dirty-tile page does not start with the magic 'XVDT'",
  DT_E_BAD_VERSION: 'the dirty-tile page has a version this side does not speak',
  DT_E_BAD_GEOMETRY: 'dirty-tile cols/rows/tile size out of range or not covering the framebuffer',
  DT_E_BAD_ACTIVE: 'the dirty-tile active indicator is neither 0 nor 1',
  DT_E_STUCK: 'the frontend left a dirty-tile switch request unanswered past the stuck limit',
  DT_E_BAD_REPORT: 'a dirty-tile scan report (control socket, capture file) has a missing or out-of-range field',
  // rfb / vnc
  RFB_E_BAD_VERSION: 'the client sent an unsupported RFB protocol version',
  RFB_E_BAD_SECURITY: 'the client chose a security type that was not offered',
  RFB_E_BAD_MSG: 'unknown or malformed RFB client message',
  RFB_E_BAD_PIXEL_FORMAT: 'the client asked for a pixel format the server cannot produce',
  RFB_E_OVERSIZE: 'a length sent by an RFB client exceeds its named limit',
  RFB_E_NO_RESIZE: 'the display changed size and the client cannot be told (no DesktopSize)',
  RFB_E_AUTH_FAILED: 'the client failed VNC authentication or gave a wrong username/password',
  RFB_E_NO_SECURITY: 'no configured security type can be used with this client (RFB 3.3, or TLS not available)',
  RFB_E_SECURITY_CONFIG: 'the VNC security options are inconsistent (e.g. a VNC-auth type without a password)',
  RFB_E_TLS: 'the TLS layer inside VeNCrypt failed or the client sent data before the TLS handshake',
  RFB_E_ENCODE: "encoding a framebuffer update failed in the session's encode worker (the worker's error is in .details)",
  RFB_E_ENCODE_WORKER: "the session's encode worker could not start, crashed or exited",
  RFB_E_ENCODE_MODE: 'XENVFB_VNC_ENCODE is neither sync nor worker',
  RFB_E_SLOW_CLIENT: 'a client kept asking for replies it does not read: its queued output passed the bound (OUTPUT_MAX_HELD)',
  RFB_E_TIMEOUT: 'a client did not finish a handshake stage (version, security, TLS, authentication, ClientInit) before its deadline',
  RFB_E_NO_SURFACE: 'the guest showed no framebuffer within the wait for a surface: the client cannot be given a size',
  RFB_E_AUTH_BUSY: 'too many authentications in progress from this client address',
  // spice (shared/spice, backend/spice)
  SPICE_E_BAD_MAGIC: "a SPICE link did not start with the magic 'REDQ'",
  SPICE_E_BAD_VERSION: 'a SPICE client asked for a protocol major version other than 2',
  SPICE_E_BAD_LINK: 'a SpiceLinkMess is malformed (size, capability counts or offsets out of range)',
  SPICE_E_OVERSIZE: 'a size sent by a SPICE client exceeds its named limit',
  SPICE_E_BAD_MSG: 'unknown or malformed SPICE client message',
  SPICE_E_AUTH_FAILED: 'the SPICE ticket (password) was wrong or could not be decrypted',
  SPICE_E_AUTH_THROTTLED: 'too many wrong SPICE tickets from this client address: refused until the backoff ends',
  SPICE_E_TICKET_EXPIRED: 'the SPICE ticket has expired: set a new password (file or environment) and restart or reload',
  SPICE_E_BAD_SESSION: 'a SPICE channel named a session id (connection_id) this server does not have',
  SPICE_E_NO_CHANNEL: 'a SPICE client asked for a channel type or id this server does not offer',
  SPICE_E_CONFIG: 'the SPICE options are inconsistent (e.g. neither a password nor --spice-disable-ticketing)',
  SPICE_E_TIMEOUT: 'a SPICE client did not finish its link stage in time',
  // capture files (docs/capture-format.md) and FBS import/export
  CAP_E_BAD_MAGIC: 'the file is not a xenvfb capture (no XVFBCAP magic): for an rfbproxy recording use capture import',
  CAP_E_BAD_VERSION: 'the capture file has a major version this build does not read',
  CAP_E_BAD_HEADER: 'the capture file header is corrupt (checksum or fields out of range)',
  CAP_E_BAD_CRC: 'a capture record failed its checksum: the file is corrupt from this record on',
  CAP_E_TRUNCATED: 'a capture record is cut short (the writer was killed mid-record)',
  CAP_E_BAD_RECORD: 'a capture record has an unknown type or fields that do not fit its length',
  CAP_E_OVERSIZE: 'a capture record or its pixels exceed a named limit of the format',
  CAP_E_NO_GEOMETRY: 'a capture record needs pixels but no geometry record came before it',
  CAP_E_EMPTY: 'the capture file holds no frame (no keyframe or geometry record)',
  CAP_E_BUSY: 'a capture is already running on this backend (one file at a time): stop it first',
  CAP_E_WRITE: 'the capture file cannot be created or written (directory missing, not writable, or disk full)',
  FBS_E_BAD_MAGIC: 'the file is not an rfbproxy FBS recording (no "FBS 001.00x" header)',
  FBS_E_TRUNCATED: 'the FBS recording ends inside a block or inside an RFB message',
  FBS_E_BAD_STREAM: 'the RFB stream inside the FBS recording is malformed or uses something we cannot decode',
  RFB_E_DECODE: 'an RFB rectangle could not be decoded (bad encoding data)',
  RFB_E_UNSUPPORTED: 'an RFB encoding or pixel format the decoders do not handle',
  // png / images / cli
  IMG_E_DECODE: 'an image file could not be read as PNG',
  CLI_E_USAGE: 'bad command-line arguments',
  // operations: listening sockets, control socket, config, supervision
  NET_E_LISTEN: 'a server could not listen on its address (in use, not permitted, or no such address); .details names the flag',
  CTL_E_REQUEST: 'a control-socket request is not a JSON object with a known "op", or a line exceeds CTL_MAX_LINE',
  CTL_E_FAILED: 'a control-socket operation failed (e.g. no such client, no framebuffer yet)',
  CTL_E_CONNECT: 'no backend answers on the control socket (not running, or no permission)',
  CFG_E_INVALID: 'the configuration file is not valid JSON or a key has a bad value (.details.key names it)',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class XenvfbError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'XenvfbError';
    this.code = code;
    this.details = details;
  }
}

/** Build a typed error. `message` says what happened with the offending values. */
export function xerror(code: ErrorCode, message?: string, details: Record<string, unknown> = {}): XenvfbError {
  return new XenvfbError(code, message ?? ErrorCodes[code], details);
}

export function isXenvfbError(e: unknown, code?: ErrorCode): e is XenvfbError {
  return e instanceof XenvfbError && (code === undefined || e.code === code);
}

/**
 * The stable `code` of any error that carries one (ours, Node's `ENOENT`/`ERR_*`, native
 * errors), or undefined. Use it instead of casting: `errorCode(e) === 'XS_E_CLOSED'`.
 */
export function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const code = (e as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
