// Passkeys: the WebAuthn ceremonies for forms marked data-passkey="register" or "sign-in".
// The form's data-options URL gives the options (JSON), its data-finish URL checks the answer.
// Without WebAuthn the forms stay hidden: password and link sign-in work without JavaScript.
(function () {
  "use strict";
  function b64ToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    o.challenge = b64ToBuf(o.challenge);
    o.user.id = b64ToBuf(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = b64ToBuf(c.id); });
    return o;
  }
  function requestOptions(o) {
    o.challenge = b64ToBuf(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = b64ToBuf(c.id); });
    return o;
  }
  function credentialJSON(cred) {
    var r = cred.response, response = {clientDataJSON: bufToB64(r.clientDataJSON)};
    if (r.attestationObject) {
      response.attestationObject = bufToB64(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = bufToB64(r.authenticatorData);
      response.signature = bufToB64(r.signature);
      if (r.userHandle) response.userHandle = bufToB64(r.userHandle);
    }
    return {id: cred.id, rawId: bufToB64(cred.rawId), type: cred.type, response: response,
            clientExtensionResults: {}, authenticatorAttachment: cred.authenticatorAttachment || null};
  }
  function post(form, url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf},
      body: JSON.stringify(body || {})}).then(function (resp) {
        return resp.json().then(function (data) { data.ok = resp.ok; return data; });
      });
  }
  function say(form, text) {
    var out = form.querySelector("[data-passkey-message]");
    if (out) out.textContent = text;
  }
  function run(form) {
    var kind = form.dataset.passkey, extra = {};
    form.querySelectorAll("input[name]").forEach(function (i) { if (i.name !== "csrf_token") extra[i.name] = i.value; });
    // Email-first: an email already typed in the sign-in form asks for that person's passkeys only.
    var email = form.dataset.emailFrom && document.querySelector(form.dataset.emailFrom);
    if (email && email.value) extra.email = email.value;
    say(form, "");
    post(form, form.dataset.options, extra).then(function (opts) {
      if (!opts.ok) throw new Error(opts.error || form.dataset.failed);
      var o = opts.options;
      return kind === "register"
        ? navigator.credentials.create({publicKey: creationOptions(o)})
        : navigator.credentials.get({publicKey: requestOptions(o)});
    }).then(function (cred) {
      extra.credential = credentialJSON(cred);
      return post(form, form.dataset.finish, extra);
    }).then(function (result) {
      if (!result.ok) throw new Error(result.error || form.dataset.failed);
      window.location.assign(result.redirect);
    }).catch(function (err) {
      say(form, (err && err.name === "NotAllowedError") ? form.dataset.cancelled : (err.message || form.dataset.failed));
    });
  }
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (e) { e.preventDefault(); run(form); });
  });
})();
