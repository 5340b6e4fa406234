import { startRealXenstored } from '../test/helpers/real-xenstored';
import { RawConn } from '../test/xenstore-real/raw-conn';
import { XsType, stringsPayload, writePayload, xsTypeName } from '../shared/xenstore/wire';
import { execFileSync } from 'node:child_process';
(async () => {
  const extra = process.argv.slice(2);
  const d = await startRealXenstored({ extraArgs: extra });
  const c = await RawConn.connect(d.socketPath);
  const s = (...x: string[]) => stringsPayload(...x);
  const show = async (label: string, type: number, payload: Buffer, tx = 0) => {
    const m = await c.request(type, payload, tx);
    console.log(label.padEnd(40), m.map((x) => `${xsTypeName(x.type)} ${JSON.stringify(x.payload.toString('latin1'))}`).join(' | '));
  };
  const ops: Array<[string, number, Buffer]> = [];
  for (const p of ['@bogus', '@releaseDomain', '@introduceDomain']) {
    ops.push([`read ${p}`, XsType.XS_READ, s(p)], [`rm ${p}`, XsType.XS_RM, s(p)], [`perms ${p}`, XsType.XS_GET_PERMS, s(p)],
      [`ls ${p}`, XsType.XS_DIRECTORY, s(p)], [`write ${p}`, XsType.XS_WRITE, writePayload(p, 'v')], [`mkdir ${p}`, XsType.XS_MKDIR, s(p)],
      [`setperms ${p} b0`, XsType.XS_SET_PERMS, s(p, 'b0')], [`setperms ${p} x`, XsType.XS_SET_PERMS, s(p, 'x')], [`watch ${p}`, XsType.XS_WATCH, s(p, 'tk')],
      [`dirpart ${p}`, XsType.XS_DIRECTORY_PART, s(p, '0')]);
  }
  ops.push(['setperms /missing x1', XsType.XS_SET_PERMS, s('/missing/a', 'x1')]);
  ops.push(['setperms /missing b0', XsType.XS_SET_PERMS, s('/missing/a', 'b0')]);
  ops.push(['setperms / x1', XsType.XS_SET_PERMS, s('/', 'x1')]);
  ops.push(['setperms rel x1', XsType.XS_SET_PERMS, s('rel', 'x1')]);
  ops.push(['control print', XsType.XS_CONTROL, s('print', 'hello')]);
  ops.push(['control log', XsType.XS_CONTROL, s('log')]);
  ops.push(['control log on', XsType.XS_CONTROL, s('log', 'on')]);
  ops.push(['control quota', XsType.XS_CONTROL, s('quota')]);
  ops.push(['control quota 0', XsType.XS_CONTROL, s('quota', '0')]);
  ops.push(['control quota nodes', XsType.XS_CONTROL, s('quota', 'nodes')]);
  ops.push(['control quota set nodes 5', XsType.XS_CONTROL, s('quota', 'set', 'nodes', '5')]);
  ops.push(['control quota-soft', XsType.XS_CONTROL, s('quota-soft')]);
  ops.push(['control quota after', XsType.XS_CONTROL, s('quota')]);
  ops.push(['control bogus', XsType.XS_CONTROL, s('bogus')]);
  ops.push(['control empty', XsType.XS_CONTROL, s('')]);
  ops.push(['control help', XsType.XS_CONTROL, s('help')]);
  ops.push(['resume 0', XsType.XS_RESUME, s('0')]);
  ops.push(['resume 5', XsType.XS_RESUME, s('5')]);
  ops.push(['resume x', XsType.XS_RESUME, s('x')]);
  ops.push(['set_target 5 6', XsType.XS_SET_TARGET, s('5', '6')]);
  ops.push(['set_target 0 6', XsType.XS_SET_TARGET, s('0', '6')]);
  ops.push(['set_target x', XsType.XS_SET_TARGET, s('x')]);
  ops.push(['intro 5', XsType.XS_INTRODUCE, s('5', '1', '1')]);
  ops.push(['set_target 5 6 after intro', XsType.XS_SET_TARGET, s('5', '6')]);
  ops.push(['set_target 5 0 after intro', XsType.XS_SET_TARGET, s('5', '0')]);
  ops.push(['resume 5 after', XsType.XS_RESUME, s('5')]);
  ops.push(['rm @releaseDomain/x', XsType.XS_RM, s('@releaseDomain/x')]);
  for (const [l, t, p] of ops) await show(l, t, p);
  if (process.env.CTL) {
    const C = 'node_modules/.cache/xenvfb-xen';
    for (const args of [['quota'], ['quota', '0'], ['help'], ['log'], ['quota-soft']]) {
      try { console.log('xenstore-control', args.join(' '), '=>', JSON.stringify(execFileSync(C + '/usr/lib/xen-4.17/bin/xenstore-control', args, { env: { ...process.env, XENSTORED_PATH: d.socketPath, LD_LIBRARY_PATH: C + '/usr/lib/x86_64-linux-gnu' } }).toString())); }
      catch (e: any) { console.log('xenstore-control', args, 'failed', e.status, String(e.stderr)); }
    }
  }
  console.log(d.output().slice(0, 2000));
  c.close(); await d.stop();
})();
