// Runs the web adapter's browser snippet (fetched from the adapter itself) in
// Node with a stand-in for the browser: window.location, document,
// localStorage kept in a file (so a second run is the same browser), and
// navigator.sendBeacon sending real HTTP to the adapter as a browser does.
//
//   node web_snippet_harness.js http://127.0.0.1:PORT WRITE_KEY STORAGE.json \
//        PAGE_URL [identify USER EMAIL]
// Exits 0 when every beacon was answered 202.
"use strict";
const fs = require("fs");

async function main() {
  const [endpoint, writeKey, storagePath, pageUrl, action, user, email] =
      process.argv.slice(2);
  const storage = fs.existsSync(storagePath)
      ? JSON.parse(fs.readFileSync(storagePath, "utf8")) : {};
  const beacons = [];
  const url = new URL(pageUrl);
  global.window = {
    omnihubConfig: {endpoint, writeKey},
    location: {href: url.href, pathname: url.pathname},
    document: {referrer: "https://search.example/", title: "Winter boots"},
    navigator: {
      userAgent: "SnippetHarness/1.0",
      sendBeacon(target, body) {
        // A string beacon is text/plain, cross-origin, without credentials.
        beacons.push(fetch(target, {
          method: "POST", body,
          headers: {"Content-Type": "text/plain;charset=UTF-8",
                    "Origin": url.origin},
        }).then(async (r) => ({status: r.status, body: await r.text(),
                               cors: r.headers.get("access-control-allow-origin")})));
        return true;
      },
    },
    localStorage: {
      getItem: (k) => (k in storage ? storage[k] : null),
      setItem: (k, v) => { storage[k] = String(v); },
    },
    crypto: require("crypto").webcrypto,
  };
  window.omnihub = [["track", "Added To Cart", {sku: "B-1"}]];  // queued early
  const snippet = await fetch(endpoint + "/omnihub.js");
  if (snippet.status !== 200) throw new Error("GET /omnihub.js: " + snippet.status);
  new Function(await snippet.text())();  // page view on load, then the queue
  if (action === "identify") window.omnihub.identify(user, {email});
  const results = await Promise.all(beacons);
  fs.writeFileSync(storagePath, JSON.stringify(storage));
  console.log(JSON.stringify({anonymousId: window.omnihub.anonymousId(), results}));
  process.exit(results.every((r) => r.status === 202 && r.cors === url.origin) ? 0 : 1);
}

main().catch((error) => { console.error(error); process.exit(2); });
