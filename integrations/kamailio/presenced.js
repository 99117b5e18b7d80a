// Call routing for Kamailio 5.6 (app_jsdt, ES5) driven by presenced.
//
// Conventions (docs/pbx-integration.md):
// - Device AOR: device DEVICE of user USER registers as sip:USER-DEVICE@domain. The device is
//   the part after the last "-", so device names must not contain "-"; user ids may.
// - Dialled Request-URI user: "voicemail" is the voicemail box, QUEUE_PREFIX + ID is queue ID,
//   anything else is a presenced user id; an unknown id made of digits (and a leading +) is an
//   external number and goes to the AOR "gateway". So do find-me numbers of a ring decision:
//   the gateway's contact with the number as the Request-URI user.
// - The voicemail box registers as AOR "voicemail" and learns the mailbox from the Diversion
//   header (RFC 5806); "X-Presenced-Reason" carries presenced's reason code.
//
// Per-call state lives in htable "calls", keyed "CALLID|...":
//   |b<i>      AOR of branch i (set in the branch route)
//   |r:<aor>   the device reported ringing and not yet ended
//   |answered  counter, 1 for the first 2xx
//   |ans       AOR of the answering device
//   |caller    AOR of the caller if it is a known device, |cs its reported state
//   |plan      what to do when nobody answers (presenced's no_answer), with the callee and hop
//   |gen       generation of the ringing plan; pending staggered devices of an older plan
//              are dropped
//   |hop       forwarding hops taken, to stop loops
//   |cid       user id whose identity forwarded branches present (caller_id "callee")
//   |sdp:<n>   "held" or "connected": what the in-dialog INVITE with CSeq n offers
//   |hs        the hold state last reported for the answered call

var MAX_HOPS = 3;
var MAX_BRANCH_SCAN = 32;
var DEFAULT_INV_LIFETIME_MS = 120000;

var conf = null;

function config() {
  if (conf === null) {
    conf = {
      url: define("PRESENCED_URL"),
      token: define("PRESENCED_TOKEN"),
      domain: define("SIP_DOMAIN") || "localhost",
      queuePrefix: define("QUEUE_PREFIX") || "queue-"
    };
  }
  return conf;
}

// The value of a -A NAME="value" define, without its quotes.
function define(name) {
  var v = KSR.kx.get_def(name);
  if (v === null || v === undefined) {
    return "";
  }
  v = String(v);
  if (v.length >= 2 && v.charAt(0) == '"' && v.charAt(v.length - 1) == '"') {
    v = v.substring(1, v.length - 1);
  }
  return v;
}

function pv(name) {
  var v = KSR.pv.get(name);
  return (v === null || v === undefined) ? "" : String(v);
}

function log(text) {
  KSR.info("presenced: " + text + "\n");
}

// ---- Per-call state ----

function callGet(ci, key) {
  var v = KSR.htable.sht_get("calls", ci + "|" + key);
  return (v === null || v === undefined) ? "" : String(v);
}

function callSet(ci, key, value) {
  KSR.htable.sht_sets("calls", ci + "|" + key, String(value));
}

function callDel(ci, key) {
  KSR.htable.sht_rm("calls", ci + "|" + key);
}

function callInc(ci, key) {
  return KSR.htable.sht_inc("calls", ci + "|" + key);
}

// ---- AORs ----

// "alice-desk" -> {user: "alice", device: "desk"}; null for AORs that are no device.
function splitAor(aor) {
  var at = aor.lastIndexOf("-");
  if (at <= 0 || at == aor.length - 1) {
    return null;
  }
  return {user: aor.substring(0, at), device: aor.substring(at + 1)};
}

function aorUri(aor) {
  return "sip:" + aor + "@" + config().domain;
}

function registered(aor) {
  return KSR.registrar.registered_uri("location", aorUri(aor)) > 0;
}

// ---- presenced ----

function post(path, body) {
  var c = config();
  var rc = KSR.http_client.query_post_hdrs(c.url + path, body,
                                           "Authorization: Bearer " + c.token, "$var(http)");
  return {status: rc, body: pv("$var(http)")};
}

// The decision for a call, or {status} when presenced did not give one.
function decide(callee, caller, type) {
  var answer = post("/api/v1/routing/decide",
                    JSON.stringify({callee: callee, caller: caller, type: type}));
  if (answer.status != 200) {
    log("decide " + type + " " + callee + ": HTTP " + answer.status + " " + answer.body);
    return {status: answer.status};
  }
  try {
    var d = JSON.parse(answer.body);
    log("decide " + type + " " + callee + ": " + answer.body);
    return {status: 200, decision: d};
  } catch (e) {
    KSR.err("presenced: decide " + callee + ": unreadable answer: " + answer.body + "\n");
    return {status: -1};
  }
}

// Telephony events go through the "events" queue; one timer process posts them in order, so a
// slow presenced never holds a SIP worker and "connected" never overtakes "ringing".
function report(aor, ci, state, direction) {
  var device = splitAor(aor);
  if (device === null) {
    return;
  }
  KSR.mqueue.mq_add("events", ci, JSON.stringify({
    user: device.user, device: device.device, call_id: ci, state: state, direction: direction
  }));
}

function ksr_events_timer(name) {
  var n = KSR.mqueue.mq_size("events");
  while (n-- > 0 && KSR.mqueue.mq_fetch("events") > 0) {
    var body = pv("$mqv(events)");
    var answer = post("/api/v1/telephony/events", body);
    if (answer.status != 202) {
      KSR.warn("presenced: event " + body + ": HTTP " + answer.status + " " + answer.body + "\n");
    }
  }
  return 1;
}

// ---- SIP requests ----

function ksr_request_route() {
  if (KSR.maxfwd.process_maxfwd(10) < 0) {
    KSR.sl.sl_send_reply(483, "Too Many Hops");
    return 1;
  }
  if (KSR.is_CANCEL()) {
    if (KSR.tm.t_check_trans() > 0) {
      KSR.tm.t_relay();
    }
    return 1;
  }
  if (KSR.siputils.has_totag() > 0) {
    withinDialog();
    return 1;
  }
  if (!KSR.is_ACK()) {
    if (KSR.tmx.t_precheck_trans() > 0) {
      KSR.tm.t_check_trans();
      return 1;
    }
    if (KSR.tm.t_check_trans() == 0) {
      return 1;
    }
  }
  KSR.hdr.remove("Route");
  if (KSR.is_REGISTER()) {
    register();
  } else if (KSR.is_INVITE()) {
    newCall();
  } else if (KSR.is_OPTIONS() && KSR.is_myself_ruri()) {
    KSR.sl.sl_send_reply(200, "OK");
  } else if (KSR.registrar.lookup("location") > 0) {
    KSR.tm.t_relay();
  } else {
    KSR.sl.sl_send_reply(404, "Not Found");
  }
  return 1;
}

function withinDialog() {
  if (KSR.rr.loose_route() > 0) {
    if (KSR.is_INVITE()) {
      noteOffer();
    }
    KSR.tm.t_relay();
  } else if (KSR.is_ACK()) {
    if (KSR.tm.t_check_trans() > 0) {
      KSR.tm.t_relay();
    }
  } else {
    KSR.sl.sl_send_reply(404, "Not here");
  }
}

// A re-INVITE of an answered call: does its SDP offer put the audio on hold (a=sendonly or
// a=inactive, RFC 3264 §8.4; or the old c=0.0.0.0) or take it off? Reported once the other
// side accepts it with a 2xx (ksr_dialog_reply). A re-INVITE without SDP asks for an offer in
// the answer and changes nothing here.
function noteOffer() {
  var ci = pv("$ci");
  if (!(Number(callGet(ci, "answered")) >= 1)) {
    return;
  }
  if (KSR.textops.has_body_type("application/sdp") < 0) {
    return;
  }
  callSet(ci, "sdp:" + pv("$cs"), KSR.textops.is_audio_on_hold() > 0 ? "held" : "connected");
  KSR.tm.t_on_reply("ksr_dialog_reply");
}

function ksr_dialog_reply() {
  var code = KSR.pv.get("$rs");
  if (code < 200) {
    return 1;
  }
  var ci = pv("$ci");
  var key = "sdp:" + pv("$cs");
  var state = callGet(ci, key);
  callDel(ci, key);
  if (code >= 300 || state === "" || (callGet(ci, "hs") || "connected") == state) {
    return 1;
  }
  callSet(ci, "hs", state);
  var answered = callGet(ci, "ans");
  if (answered !== "") {
    report(answered, ci, state, "inbound");
  }
  var caller = callGet(ci, "caller");
  if (caller !== "" && callGet(ci, "cs") !== "") {
    callSet(ci, "cs", state);
    report(caller, ci, state, "outbound");
  }
  return 1;
}

function register() {
  if (KSR.registrar.save("location", 0) < 0) {
    KSR.sl.sl_reply_error();
    return;
  }
  // Which device a branch rings is known from its Contact (see ksr_branch).
  var contact = pv("$(ct{tobody.uri})");
  if (contact !== "" && contact != "*") {
    KSR.htable.sht_sets("contacts", contact, pv("$tU"));
  }
}

function newCall() {
  var c = config();
  var ci = pv("$ci");
  var dialled = pv("$rU");
  var from = pv("$fU");
  KSR.rr.record_route();
  KSR.dialog.dlg_manage();
  // 100 Trying now, and retransmissions absorbed while presenced answers.
  KSR.tm.t_newtran();
  // sht_inc only increments items that exist.
  KSR.htable.sht_seti("calls", ci + "|answered", 0);
  KSR.htable.sht_seti("calls", ci + "|gen", 1);
  var caller = from;
  var device = splitAor(from);
  if (device !== null && registered(from)) {
    callSet(ci, "caller", from);
    caller = device.user;
  }
  if (dialled == "voicemail") {
    toAor("voicemail");
    return;
  }
  if (dialled.indexOf(c.queuePrefix) == 0 && dialled.length > c.queuePrefix.length) {
    routeTo(dialled.substring(c.queuePrefix.length), caller, "queue", 0);
  } else {
    routeTo(dialled, caller, "direct", 0);
  }
}

// Asks presenced about a call to callee and carries out the answer.
function routeTo(callee, caller, type, hop) {
  var answer = decide(callee, caller, type);
  if (answer.status == 404 && type == "direct" && isNumber(callee)) {
    external(callee);
  } else if (answer.status == 404) {
    reply(404, "Not Found");
  } else if (answer.status != 200) {
    // Fail safe: without presenced a call still reaches the callee's mailbox.
    voicemail(callee, "presenced_unavailable");
  } else {
    execute(answer.decision, callee, caller, hop);
  }
}

function execute(d, callee, caller, hop) {
  if (d.action == "ring") {
    ring(d, callee, caller, hop);
  } else if (d.action == "forward") {
    forward(d.destination, callee, caller, hop, d.reason, d.caller_id);
  } else if (d.action == "voicemail") {
    voicemail(callee, d.reason);
  } else if (d.action == "busy") {
    reply(486, "Busy Here");
  } else {
    KSR.err("presenced: unknown action " + d.action + "\n");
    reply(500, "Unknown Routing Action");
  }
}

// The targets of a ring decision that can ring: registered devices ({aor}) and find-me
// numbers ({number}, through the gateway), earliest first.
function ringTargets(list, callee) {
  var targets = [];
  var gateway = null;
  for (var i = 0; i < list.length; i++) {
    var delay = list[i].delay_s || 0;
    if (list[i].device) {
      var aor = (list[i].user || callee) + "-" + list[i].device;
      if (registered(aor)) {
        targets.push({aor: aor, delay: delay});
      }
    } else if (list[i].number && isNumber(list[i].number)) {
      if (gateway === null) {
        gateway = registered("gateway");
      }
      if (gateway) {
        targets.push({number: list[i].number, delay: delay});
      }
    }
  }
  // Array.prototype.sort need not be stable in ES5: ties keep the decision's order.
  for (var k = 0; k < targets.length; k++) {
    targets[k].order = k;
  }
  targets.sort(function(a, b) { return a.delay - b.delay || a.order - b.order; });
  return targets;
}

function isNumber(text) {
  return /^\+?[0-9*#]+$/.test(text);
}

// Rings the targets: the earliest reachable ones now, each later one after its delay_s
// (counted from the first), added to the same transaction while the others keep ringing.
// A find-me number rings like a device, at the gateway with the number as Request-URI user;
// only one number can start with the first devices, further simultaneous ones follow within
// one stagger tick (100 ms).
function ring(d, callee, caller, hop) {
  var ci = pv("$ci");
  var targets = ringTargets(d.targets || [], callee);
  var noAnswer = d.no_answer || null;
  if (targets.length === 0) {
    if (noAnswer !== null) {
      afterNoAnswer({no_answer: noAnswer, callee: callee, caller: caller, hop: hop});
    } else {
      reply(480, "Temporarily Unavailable");
    }
    return;
  }
  var start = targets[0].delay;
  var limitMs = noAnswer !== null ? noAnswer.after_s * 1000 : DEFAULT_INV_LIFETIME_MS;
  var first = [];
  var number = "";
  var later = [];
  for (var j = 0; j < targets.length; j++) {
    var offsetMs = (targets[j].delay - start) * 1000;
    if (offsetMs <= 0 && targets[j].aor) {
      first.push(aorUri(targets[j].aor));
    } else if (offsetMs <= 0 && number === "") {
      number = targets[j].number;
      first.push(aorUri("gateway"));
    } else if (offsetMs < limitMs) {
      later.push({aor: targets[j].aor, number: targets[j].number, offset: Math.max(offsetMs, 0)});
    }
  }
  KSR.pv.sets("$ru", first[0]);
  for (var f = 1; f < first.length; f++) {
    KSR.corex.append_branch_uri(first[f]);
  }
  if (KSR.registrar.lookup_branches("location") < 0) {
    reply(480, "Temporarily Unavailable");
    return;
  }
  if (noAnswer !== null) {
    callSet(ci, "plan", JSON.stringify({no_answer: noAnswer, callee: callee, caller: caller,
                                        hop: hop, caller_id: d.caller_id || "caller"}));
  } else {
    callDel(ci, "plan");
  }
  KSR.tm.t_set_max_lifetime(limitMs, 0);
  if (!withNumber(number, relay)) {
    return;
  }
  var now = Date.now();
  var gen = callGet(ci, "gen");
  for (var k = 0; k < later.length; k++) {
    KSR.mqueue.mq_add("stagger", ci, JSON.stringify({
      due: now + later[k].offset, tindex: KSR.pv.get("$T(id_index)"),
      tlabel: KSR.pv.get("$T(id_label)"), ci: ci, gen: gen, aor: later[k].aor || "",
      number: later[k].number || ""
    }));
  }
}

// The find-me number the gateway branches created by fn() call. Branches are created
// synchronously inside t_relay and ts_append_to, in this process, so ksr_branch sees it there
// and nowhere else.
var gatewayNumber = "";

function withNumber(number, fn) {
  gatewayNumber = number || "";
  try {
    return fn();
  } finally {
    gatewayNumber = "";
  }
}

// Adds each staggered device or number whose time has come to its call's transaction
// (tsilo's ts_append_to looks up the AOR's contacts and calls tm's t_append_branches).
function ksr_stagger_timer(name) {
  var n = KSR.mqueue.mq_size("stagger");
  var now = Date.now();
  var keep = [];
  while (n-- > 0 && KSR.mqueue.mq_fetch("stagger") > 0) {
    var raw = pv("$mqv(stagger)");
    var item = JSON.parse(raw);
    if (item.due > now) {
      keep.push(raw);
    } else if (callGet(item.ci, "gen") == item.gen) {
      var aor = item.number ? "gateway" : item.aor;
      var rc = withNumber(item.number, function() {
        return KSR.tsilo.ts_append_to_uri(item.tindex, item.tlabel, "location", aorUri(aor));
      });
      log("staggered " + (item.number || item.aor) + " on " + item.ci + ": " + rc);
    }
  }
  for (var i = 0; i < keep.length; i++) {
    KSR.mqueue.mq_add("stagger", "", keep[i]);
  }
  return 1;
}

// callerId "callee": the forwarded call presents the forwarding user (see presentAs); "caller"
// (or none) keeps what the call presents already.
function forward(destination, callee, caller, hop, reason, callerId) {
  if (hop >= MAX_HOPS) {
    reply(482, "Loop Detected");
    return;
  }
  if (!destination || destination == "voicemail") {
    voicemail(callee, reason);
    return;
  }
  if (callerId == "callee") {
    callSet(pv("$ci"), "cid", callee);
  }
  divert(callee, reason);
  routeTo(destination, caller, "direct", hop + 1);
}

function voicemail(callee, reason) {
  divert(callee, reason);
  toAor("voicemail");
}

// RFC 5806 Diversion, so the next hop (the mailbox, a colleague's phone) knows whose call it is.
function divert(callee, reason) {
  var why = "unknown";
  if (reason == "do_not_disturb") {
    why = "do-not-disturb";
  } else if (/no_answer$/.test(reason)) {
    why = "no-answer";
  } else if (/busy/.test(reason)) {
    why = "user-busy";
  } else if (reason == "forward_always") {
    why = "unconditional";
  } else if (reason == "offline" || reason == "forward_unreachable") {
    why = "unavailable";
  }
  KSR.hdr.append("Diversion: <" + aorUri(callee) + ">;reason=" + why + "\r\n");
  KSR.hdr.append("X-Presenced-Reason: " + reason + "\r\n");
}

// An external number goes to the gateway's contact with the number as the user part.
function external(number) {
  toAor("gateway", number);
}

// Sends the call to the contacts of one AOR (voicemail, gateway); false if none is registered.
function toAor(aor, user) {
  KSR.pv.sets("$ru", aorUri(aor));
  if (KSR.registrar.lookup("location") < 0) {
    reply(480, "Temporarily Unavailable");
    return false;
  }
  if (user) {
    KSR.pv.sets("$rU", user);
  }
  KSR.tm.t_set_max_lifetime(DEFAULT_INV_LIFETIME_MS, 0);
  return relay();
}

function relay() {
  KSR.tm.t_on_branch("ksr_branch");
  KSR.tm.t_on_reply("ksr_reply");
  KSR.tm.t_on_failure("ksr_failure");
  if (KSR.tm.t_relay() < 0) {
    reply(500, "Relay Failed");
    return false;
  }
  return true;
}

function reply(code, text) {
  // Stateful: newCall created the transaction, and in failure routes it exists anyway.
  KSR.tm.t_reply(code, text);
}

// ---- Branches, replies, failures ----

// Runs for every branch, also those added later by ts_append_to; changes made here apply to
// this branch only.
function ksr_branch() {
  var ci = pv("$ci");
  var aor = KSR.htable.sht_get("contacts", pv("$ru"));
  if (aor !== null && aor !== undefined) {
    callSet(ci, "b" + pv("$T_branch_idx"), aor);
    if (aor == "gateway" && gatewayNumber !== "") {
      KSR.pv.sets("$rU", gatewayNumber);
    }
  }
  var identity = callGet(ci, "cid");
  if (identity !== "") {
    presentAs(identity);
  }
  return 1;
}

// A forwarded call that shows the forwarding user: the From (what phones display, RFC 3261
// §8.1.1.3) and P-Asserted-Identity (what a trusting PBX or trunk takes as the calling party,
// RFC 3325 §9.1) both name the user. uac restores the original From in the replies and the
// caller's in-dialog requests, and rewrites it in the callee's (restore_mode auto), so the
// dialog stays consistent for both sides.
function presentAs(user) {
  var name = '"' + user.replace(/["\\]/g, "") + '"';
  KSR.uac.uac_replace_from(name, aorUri(user));
  KSR.hdr.remove("P-Asserted-Identity");
  KSR.hdr.remove("Remote-Party-ID");
  KSR.hdr.append("P-Asserted-Identity: " + name + " <" + aorUri(user) + ">\r\n");
}

function ksr_reply() {
  var code = KSR.pv.get("$rs");
  if (code < 180) {
    return 1;
  }
  var ci = pv("$ci");
  var aor = callGet(ci, "b" + pv("$T_branch_idx"));
  var caller = callGet(ci, "caller");
  if (code < 200) {
    if (aor !== "" && callGet(ci, "r:" + aor) === "") {
      callSet(ci, "r:" + aor, "1");
      report(aor, ci, "ringing", "inbound");
    }
    if (caller !== "" && callGet(ci, "cs") === "") {
      callSet(ci, "cs", "ringing");
      report(caller, ci, "ringing", "outbound");
    }
  } else if (code < 300 && callInc(ci, "answered") == 1) {
    endRinging(ci, aor);
    if (aor !== "") {
      callSet(ci, "ans", aor);
      callDel(ci, "r:" + aor);
      report(aor, ci, "connected", "inbound");
    }
    if (caller !== "") {
      callSet(ci, "cs", "connected");
      report(caller, ci, "connected", "outbound");
    }
  }
  return 1;
}

// "ended" for every device that rang on this call, but the one that answered.
function endRinging(ci, except) {
  for (var i = 0; i < MAX_BRANCH_SCAN; i++) {
    var aor = callGet(ci, "b" + i);
    if (aor !== "" && aor != except && callGet(ci, "r:" + aor) !== "") {
      callDel(ci, "r:" + aor);
      report(aor, ci, "ended", "inbound");
    }
  }
}

function ksr_failure() {
  var ci = pv("$ci");
  endRinging(ci, "");
  if (KSR.tm.t_is_canceled() > 0) {
    return 1;
  }
  var plan = callGet(ci, "plan");
  if (plan === "") {
    return 1;  // tm relays the best final reply
  }
  afterNoAnswer(JSON.parse(plan));
  return 1;
}

// presenced's no_answer: forward to the destination or to the mailbox, with a new ringing
// plan (staggered devices still pending from the old one are dropped).
function afterNoAnswer(plan) {
  var ci = pv("$ci");
  callDel(ci, "plan");
  callInc(ci, "gen");
  KSR.tm.t_set_max_lifetime(DEFAULT_INV_LIFETIME_MS, 0);
  if (plan.no_answer.action == "forward") {
    forward(plan.no_answer.destination, plan.callee, plan.caller, plan.hop,
            plan.no_answer.reason, plan.caller_id);
  } else {
    voicemail(plan.callee, plan.no_answer.reason);
  }
}

// dialog:end (BYE or timeout) and dialog:failed (no 2xx) end the call for everyone on it.
function ksr_dialog_event(name) {
  var ci = pv("$dlg(callid)");
  if (ci === "") {
    ci = pv("$ci");
  }
  if (name != "dialog:end" && name != "dialog:failed") {
    return 1;
  }
  endRinging(ci, "");
  var answered = callGet(ci, "ans");
  if (answered !== "") {
    report(answered, ci, "ended", "inbound");
  }
  var caller = callGet(ci, "caller");
  if (caller !== "" && callGet(ci, "cs") !== "") {
    report(caller, ci, "ended", "outbound");
  }
  KSR.htable.sht_rm_name("calls", "sw", ci + "|");
  return 1;
}
