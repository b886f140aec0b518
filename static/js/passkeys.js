// Passkeys (WebAuthn): add one on the account page, or use one to sign in.
// The buttons stay hidden where the browser has no passkey support; the rest of the
// page (codes, passwords) works without JavaScript.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw data; }
        return data;
      });
    });
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return {type: item.type, id: fromBase64url(item.id), transports: item.transports};
    });
  }

  function credentialJson(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {clientDataJSON: toBase64url(response.clientDataJSON)}
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      if (response.getTransports) { json.response.transports = response.getTransports(); }
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      json.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
    }
    return json;
  }

  function wire(box, run) {
    var button = box.querySelector("[data-passkey-button]");
    var problem = box.querySelector("[data-passkey-problem]");
    var fallback = box.querySelector("[data-passkey-fallback]");
    if (fallback) { fallback.hidden = true; }
    button.hidden = false;
    button.addEventListener("click", function () {
      problem.hidden = true;
      button.disabled = true;
      run(box.getAttribute("data-csrf")).then(function (data) {
        window.location.assign(data.redirect);
      }).catch(function (error) {
        problem.textContent = (error && error.problem) || "The passkey was not used. Please try again.";
        problem.hidden = false;
        button.disabled = false;
        if (error && error.redirect) { window.location.assign(error.redirect); }
      });
    });
  }

  document.querySelectorAll("[data-passkey-register]").forEach(function (box) {
    wire(box, function (csrf) {
      return post(box.getAttribute("data-options-url"), csrf).then(function (options) {
        options.challenge = fromBase64url(options.challenge);
        options.user.id = fromBase64url(options.user.id);
        options.excludeCredentials = descriptors(options.excludeCredentials);
        return navigator.credentials.create({publicKey: options});
      }).then(function (credential) {
        var name = box.querySelector("input[name='passkey-name']").value;
        return post(box.getAttribute("data-finish-url"), csrf, {credential: credentialJson(credential), name: name});
      });
    });
  });

  document.querySelectorAll("[data-passkey-sign-in]").forEach(function (box) {
    wire(box, function (csrf) {
      return post(box.getAttribute("data-options-url"), csrf).then(function (options) {
        options.challenge = fromBase64url(options.challenge);
        options.allowCredentials = descriptors(options.allowCredentials);
        return navigator.credentials.get({publicKey: options});
      }).then(function (credential) {
        return fetch(box.getAttribute("data-finish-url"), {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
          body: JSON.stringify(credentialJson(credential))
        }).then(function (response) {
          return response.json().then(function (data) {
            if (!response.ok) { throw data; }
            return data;
          });
        });
      });
    });
  });
}());
