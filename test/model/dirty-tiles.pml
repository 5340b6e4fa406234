/* Dirty-tile protocol (docs/dirty-tiles.md section 4), model-checked with spin.
 * 2 writers (pixel write, read active, atomic OR, load period_ms -> wake), the frontend
 * switcher (timer ticks + answers to switch requests), the backend scanner (read gen,
 * read active, exchange the inactive bitmap, report, late request, idle with re-check,
 * wake). Generation modulo GEN_MOD = 2 (wrap); the timing of ticks vs scans is free,
 * so switches are missed and late writers happen. Every Promela statement is one atomic
 * step. When nothing can move (timeout) init runs the protocol on, sequentially, and
 * asserts every writer's last pixel write was seen by the scanner: no mark is lost.
 * Paced (docs/dirty-tiles.md §4.7, r8; the default): each scan is a timer tick or a notify
 * scan (free choice); a tick asks for a switch whenever the active bitmap has marks, or the
 * frontend took the last request; the frontend runs no timer. -DFE_TIMER: a v1 frontend with
 * its own timer on our backend; -DUNPACED -DFE_TIMER: v1 (independent timers).
 * Mutants (each must fail): -DNONATOMIC_DRAIN, -DNO_RECHECK, -DCHECK_BEFORE_MARK, and
 * -DV1_DRAIN (drain only when generation moved: pacing needs r2).
 * (Promela reserves `active`, so the indicator is called `act` here.) */

#define GEN_MOD 2
#define MARKS 1
#define TICKS 2
#define SCANS 3
#define K 1

byte act, gen, period = 1, flags;
byte bm[2];
byte ver[2], seen[2];
bool beEvt, feEvt, idle, req;
byte lastG, emptyScans;

inline markCheck(i) {
  atomic {
    if
    :: period == 0 && (flags & 2) == 0 -> flags = flags | 2; beEvt = true
    :: else -> skip
    fi
  }
}

proctype Writer(byte i) {
  byte a;
  byte n = MARKS;
  do
  :: n > 0 ->
    ver[i]++;
#ifdef CHECK_BEFORE_MARK
    markCheck(i);
    a = act;
    bm[a] = bm[a] | (1 << i);
#else
    a = act;
    bm[a] = bm[a] | (1 << i);
    markCheck(i);
#endif
    n--
  :: else -> break
  od
}

proctype Switcher() {
  byte ticks = TICKS;
end:
  do
#ifdef FE_TIMER
  :: ticks > 0 && period != 0 -> ticks--; act = 1 - act; gen = (gen + 1) % GEN_MOD
#endif
  :: feEvt ->
    atomic { feEvt = false; if :: (flags & 1) != 0 -> flags = flags & 2 :: else -> goto no_answer fi };
    act = 1 - act;
    gen = (gen + 1) % GEN_MOD;
    beEvt = true;
no_answer: skip
  od
}

inline wake() {
  atomic {
    if
    :: (flags & 2) != 0 -> flags = flags & 1; idle = false; emptyScans = 0; period = 1;
       flags = flags | 1; req = true; feEvt = true
    :: else -> skip
    fi
  }
}

inline afterDrain() {
  atomic {
    if :: (w & 1) != 0 -> seen[0] = ver[0] :: else -> skip fi;
    if :: (w & 2) != 0 -> seen[1] = ver[1] :: else -> skip fi;
    pending = (bm[a] != 0);
    if
    :: g != lastG -> req = false
    :: else -> if :: pending && !req -> flags = flags | 1; feEvt = true; req = true :: else -> skip fi
    fi;
#ifndef UNPACED
    if :: tick && pending && (!req || (flags & 1) == 0) -> flags = flags | 1; feEvt = true; req = true :: else -> skip fi;
#endif
    lastG = g;
    if :: w == 0 && !pending -> emptyScans++ :: else -> emptyScans = 0 fi
  }
}

inline idleStep() {
  if
  :: emptyScans >= K ->
    period = 0;
    atomic {
      emptyScans = 0;
#ifdef NO_RECHECK
      idle = true
#else
      if :: (bm[0] | bm[1]) != 0 -> period = 1 :: else -> idle = true fi
#endif
    }
  :: else -> skip
  fi
}

proctype Scanner() {
  byte g, a, w, tmp;
  bool pending, tick;
  byte scans = SCANS;
end:
  do
  :: beEvt -> beEvt = false; wake()
  :: !idle && scans > 0 ->
    scans--;
    g = gen;
    a = act;
#ifdef NONATOMIC_DRAIN
    tmp = bm[1 - a];
    bm[1 - a] = 0; w = tmp;
#elif defined(V1_DRAIN)
    atomic { if :: g != lastG -> w = bm[1 - a]; bm[1 - a] = 0 :: else -> w = 0 fi };
#else
    atomic { w = bm[1 - a]; bm[1 - a] = 0 };
#endif
    if :: tick = true :: tick = false fi;
    afterDrain();
    idleStep()
  od
}

init {
  byte round, g, a, w;
  bool pending, tick = true, answered;
  atomic { run Writer(0); run Writer(1); run Switcher(); run Scanner() };
  timeout ->
  atomic {
    round = 0;
    do
    :: round < 8 ->
      round++;
      if :: beEvt -> beEvt = false; wake() :: else -> skip fi;
      answered = false;
      if
      :: feEvt -> feEvt = false;
        if :: (flags & 1) != 0 -> flags = flags & 2; act = 1 - act; gen = (gen + 1) % GEN_MOD; beEvt = true; answered = true
           :: else -> skip fi
      :: else -> skip
      fi;
#ifdef FE_TIMER
      /* one switch per round: two are none modulo GEN_MOD = 2 */
      if :: period != 0 && !answered -> act = 1 - act; gen = (gen + 1) % GEN_MOD :: else -> skip fi;
#endif
      if
      :: !idle ->
        g = gen; a = act;
#ifdef V1_DRAIN
        if :: g != lastG -> w = bm[1 - a]; bm[1 - a] = 0 :: else -> w = 0 fi;
#else
        w = bm[1 - a]; bm[1 - a] = 0;
#endif
        afterDrain();
        if
        :: emptyScans >= K -> emptyScans = 0;
          if :: (bm[0] | bm[1]) != 0 -> skip :: else -> period = 0; idle = true fi
        :: else -> skip
        fi
      :: else -> skip
      fi
    :: else -> break
    od;
    assert(seen[0] == ver[0] && seen[1] == ver[1])
  }
}
