/*
 * omnihub web snippet: sends page views, track() and identify() calls to the
 * omnihub web adapter, with an anonymous id kept in localStorage.
 *
 *   <script>
 *     window.omnihubConfig = {endpoint: "https://collect.example.com",
 *                             writeKey: "YOUR_WRITE_KEY"};
 *   </script>
 *   <script async src="https://collect.example.com/omnihub.js"></script>
 *
 *   omnihub.track("Order Completed", {revenue: "19.99", currency: "EUR"});
 *   omnihub.identify("user-42", {email: "ann@example.com"});
 *
 * Calls made before the script loads can be queued:
 *   window.omnihub = window.omnihub || [];
 *   omnihub.push(["track", "Newsletter Opened"]);
 */
(function (window) {
  "use strict";
  var config = window.omnihubConfig || {};
  var endpoint = (config.endpoint || "").replace(/\/+$/, "") + "/v1/batch";
  var ANONYMOUS_KEY = "omnihub.anonymousId";
  var USER_KEY = "omnihub.userId";

  function newId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 3) | 8).toString(16);
    });
  }

  // Private browsing may forbid storage: then the id lives for this page.
  function load(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }
  function save(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {}
  }

  var anonymousId = load(ANONYMOUS_KEY);
  if (!anonymousId) {
    anonymousId = newId();
    save(ANONYMOUS_KEY, anonymousId);
  }
  var userId = load(USER_KEY);

  function send(call) {
    var now = new Date().toISOString();
    call.messageId = newId();
    call.anonymousId = anonymousId;
    if (userId) call.userId = userId;
    call.timestamp = now;
    call.context = {
      page: {
        url: window.location.href,
        path: window.location.pathname,
        referrer: window.document.referrer,
        title: window.document.title
      },
      userAgent: window.navigator.userAgent
    };
    // sentAt lets the adapter correct for a wrong clock on this computer.
    var body = JSON.stringify({batch: [call], sentAt: now,
                               writeKey: config.writeKey});
    // A string beacon goes as text/plain, which needs no CORS preflight and
    // survives the page being closed.
    if (window.navigator.sendBeacon && window.navigator.sendBeacon(endpoint, body)) {
      return;
    }
    if (window.fetch) {
      window.fetch(endpoint, {method: "POST", body: body, keepalive: true,
                              headers: {"Content-Type": "text/plain"}});
    }
  }

  var api = {
    page: function (name, properties) {
      send({type: "page", name: name || window.document.title,
            properties: properties || {}});
    },
    track: function (event, properties) {
      send({type: "track", event: event, properties: properties || {}});
    },
    identify: function (id, traits) {
      if (id) {
        userId = String(id);
        save(USER_KEY, userId);
      }
      send({type: "identify", traits: traits || {}});
    },
    anonymousId: function () {
      return anonymousId;
    },
    push: function (args) {
      api[args[0]].apply(api, args.slice(1));
    }
  };

  var queued = window.omnihub;
  window.omnihub = api;
  if (config.pageView !== false) api.page();
  if (queued && queued.length) {
    for (var i = 0; i < queued.length; i++) api.push(queued[i]);
  }
})(window);
