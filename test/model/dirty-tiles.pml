/* Dirty-tile protocol (docs/dirty-tiles.md section 4), model-checked with spin.
 * 2 writers (pixel write, read active, atomic OR, load period_ms -> wake), the frontend
 * switcher (timer ticks + answers to switch requests), the backend scanner (read gen,
 * read active, exchange the inactive bitmap, report, late request, idle with re-check,
 * wake). Generation modulo GEN_MOD = 2 (wrap); the timing of ticks vs scans is free,
 * so switches are missed and late writers happen. Every Promela statement is one atomic
 * step. When nothing can move (timeout) init runs the protocol on, sequentially, and
 * asserts every writer's last pixel write was seen by the scanner: no mark is lost.
 * Mutants (each must fail): -DNONATOMIC_DRAIN, -DNO_RECHECK, -DCHECK_BEFORE_MARK.
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
  :: ticks > 0 && period != 0 -> ticks--; act = 1 - act; gen = (gen + 1) % GEN_MOD
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
  bool pending;
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
#else
    atomic { w = bm[1 - a]; bm[1 - a] = 0 };
#endif
    afterDrain();
    idleStep()
  od
}

init {
  byte round, g, a, w;
  bool pending;
  atomic { run Writer(0); run Writer(1); run Switcher(); run Scanner() };
  timeout ->
  atomic {
    round = 0;
    do
    :: round < 8 ->
      round++;
      if :: beEvt -> beEvt = false; wake() :: else -> skip fi;
      if
      :: feEvt -> feEvt = false;
        if :: (flags & 1) != 0 -> flags = flags & 2; act = 1 - act; gen = (gen + 1) % GEN_MOD; beEvt = true
           :: else -> skip fi
      :: else -> skip
      fi;
      if :: period != 0 -> act = 1 - act; gen = (gen + 1) % GEN_MOD :: else -> skip fi;
      if
      :: !idle ->
        g = gen; a = act; w = bm[1 - a]; bm[1 - a] = 0;
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
