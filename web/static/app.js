// gatehouse's one script. Every form works without it: it moves keyboard focus to the first field
// with an error after a refused form, and opens the browser's passkey dialogs, which need a script.
"use strict";
// txt is a text in the page's language: the layout writes the script's texts, translated, into
// the data attributes of #js-text; the English here is only a fallback.
function txt(key, english) {
  var el = document.getElementById("js-text");
  return (el && el.dataset[key]) || english;
}
document.addEventListener("DOMContentLoaded", function () {
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) { bad.focus(); return; }
  var summary = document.getElementById("form-error");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
});

// Copy buttons (recovery codes): shown only when the clipboard can be used; without the script
// the codes can still be selected or downloaded.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var src = document.getElementById(b.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () {
        b.textContent = txt("copied", "Copied");
      }, function () {
        b.textContent = txt("copyFailed", "Copying failed: select the codes instead");
      });
    });
  });
});
// Passkeys (WebAuthn). The server sends options with binary members as base64url strings and
// takes the PublicKeyCredential back as JSON the same way; the browser API wants ArrayBuffers.
// After a sign-in the server has already set the session cookie: the script goes to
// /login?rd=..., which forwards a signed-in browser to rd only when rd is on this site.
(function () {
  function toBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), b = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { b[i] = bin.charCodeAt(i); }
    return b.buffer;
  }
  function toB64u(buf) {
    var b = new Uint8Array(buf), s = "";
    for (var i = 0; i < b.length; i++) { s += String.fromCharCode(b[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = new Error((j.error && j.error.message) || txt("serverAnswered", "The server answered {status}.").replace("{status}", String(r.status)));
          e.code = j.error && j.error.code;
          throw e;
        }
        return j;
      });
    });
  }
  function creationOptions(pk) {
    pk.challenge = toBuf(pk.challenge);
    pk.user.id = toBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return pk;
  }
  function requestOptions(pk) {
    pk.challenge = toBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return pk;
  }
  function credentialJSON(c) {
    var r = c.response;
    var out = {
      id: c.id, rawId: toB64u(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64u(r.clientDataJSON) }
    };
    if (c.authenticatorAttachment) { out.authenticatorAttachment = c.authenticatorAttachment; }
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      if (r.userHandle) { out.response.userHandle = toB64u(r.userHandle); }
    }
    return out;
  }
  function message(e) {
    if (e && e.name === "NotAllowedError") { return txt("dialogClosed", "The passkey dialog was closed or timed out. Try again."); }
    if (e && e.name === "InvalidStateError") { return txt("alreadyHeld", "This authenticator already holds a passkey for your account."); }
    return (e && e.message) || txt("passkeyFailed", "The passkey did not work. Try again.");
  }
  function show(el, text) { el.textContent = text; el.hidden = false; }
  // askReauth shows the security page's "Confirm it's you" form (it is in the page, hidden while
  // the session counts as recently authenticated) and makes it return to `then` afterwards.
  function askReauth(then) {
    var box = document.getElementById("reauth");
    if (!box) { return false; }
    box.hidden = false;
    var t = box.querySelector("input[name=then]");
    if (t) { t.value = then; }
    var pk = document.getElementById("reauth-passkey");
    if (pk) { pk.dataset.then = then; }
    var first = box.querySelector("input:not([type=hidden]):not([hidden])");
    box.scrollIntoView();
    if (first) { first.focus(); }
    return true;
  }

  function setupLogin() {
    var entry = document.getElementById("passkey-entry");
    if (!entry || !window.PublicKeyCredential || !navigator.credentials) { return; }
    entry.hidden = false;
    var btn = document.getElementById("passkey-signin"), err = document.getElementById("passkey-error");
    var rdField = document.querySelector("form input[name=rd]");
    var rd = rdField ? rdField.value : "";
    var conditional = null;
    function signIn(mediation, ctl) {
      return postJSON(entry.dataset.begin, {}).catch(function (e) {
        e.begin = true;
        throw e;
      }).then(function (c) {
        var opts = { publicKey: requestOptions(c.publicKey), signal: ctl.signal };
        if (mediation) { opts.mediation = mediation; }
        return navigator.credentials.get(opts).then(function (cred) {
          if (!cred) { throw new Error(txt("noPasskey", "No passkey was chosen.")); }
          var stay = document.getElementById("f-stay");
          return postJSON(entry.dataset.finish, { ceremony: c.ceremony, credential: credentialJSON(cred), stay_signed_in: !!(stay && stay.checked) });
        });
      }).then(function () {
        location.assign(entry.dataset.after + (rd ? "?rd=" + encodeURIComponent(rd) : ""));
      });
    }
    btn.addEventListener("click", function () {
      // Only one WebAuthn request may be pending: the autofill one gives way to the dialog.
      if (conditional) { conditional.abort(); conditional = null; }
      err.hidden = true;
      btn.disabled = true;
      signIn(null, new AbortController()).catch(function (e) {
        btn.disabled = false;
        show(err, message(e));
      });
    });
    // Autofill: the username field offers the site's passkeys (autocomplete="username webauthn").
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok || conditional) { return; }
        var ctl = new AbortController();
        conditional = ctl;
        signIn("conditional", ctl).catch(function (e) {
          // Autofill is an offer, not a request: if it cannot even start (rate limit, server
          // down), the page stays quiet; a passkey that was picked and refused is reported.
          if (ctl.signal.aborted || (e && (e.name === "AbortError" || e.begin))) { return; }
          show(err, message(e));
        });
      });
    }
  }

  function setupAdd() {
    var box = document.getElementById("passkey-add");
    if (!box || !window.PublicKeyCredential || !navigator.credentials) { return; }
    box.hidden = false;
    var btn = document.getElementById("passkey-add-button"), name = document.getElementById("f-new-passkey-name");
    var err = document.getElementById("passkey-add-error");
    btn.addEventListener("click", function () {
      err.hidden = true;
      name.removeAttribute("aria-invalid");
      var n = name.value.trim();
      if (!n) {
        name.setAttribute("aria-invalid", "true");
        show(err, txt("nameIt", "Give the passkey a name, for example MacBook or YubiKey."));
        name.focus();
        return;
      }
      btn.disabled = true;
      postJSON(box.dataset.begin, {}).then(function (c) {
        return navigator.credentials.create({ publicKey: creationOptions(c.publicKey) }).then(function (cred) {
          return postJSON(box.dataset.finish, { ceremony: c.ceremony, name: n, credential: credentialJSON(cred) });
        });
      }).then(function () {
        location.assign(box.dataset.done);
      }, function (e) {
        btn.disabled = false;
        if (e && e.code === "reauthentication_required" && askReauth("passkeys")) {
          show(err, txt("confirmFirst", "Confirm it's you above, then add the passkey again."));
          return;
        }
        show(err, message(e));
      });
    });
  }

  // Confirm it's you with a passkey: an assertion in this session, then the refused action is
  // carried out by a plain form post (the action checks the recent authentication itself).
  function setupReauth() {
    var box = document.getElementById("reauth-passkey");
    if (!box || !window.PublicKeyCredential || !navigator.credentials) { return; }
    box.hidden = false;
    var btn = document.getElementById("reauth-passkey-button"), err = document.getElementById("reauth-passkey-error");
    btn.addEventListener("click", function () {
      err.hidden = true;
      btn.disabled = true;
      postJSON(box.dataset.begin, {}).then(function (c) {
        return navigator.credentials.get({ publicKey: requestOptions(c.publicKey) }).then(function (cred) {
          if (!cred) { throw new Error(txt("noPasskey", "No passkey was chosen.")); }
          return postJSON(box.dataset.finish, { ceremony: c.ceremony, credential: credentialJSON(cred) });
        });
      }).then(function () {
        var f = document.createElement("form");
        f.method = "post";
        f.action = box.dataset["continue"];
        var t = document.createElement("input");
        t.type = "hidden"; t.name = "then"; t.value = box.dataset.then || "";
        f.appendChild(t);
        document.body.appendChild(f);
        f.submit();
      }, function (e) {
        btn.disabled = false;
        show(err, message(e));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setupLogin(); setupAdd(); setupReauth(); });
})();
