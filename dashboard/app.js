// hireflow dashboard: progressive behaviour on top of server-rendered, already-escaped pages.
// Loaded as a file (the Content-Security-Policy forbids inline script); every page works without it.
"use strict";

(function () {
  var REFRESH_MS = 2000;

  // Forms marked data-once send once: the first submit disables their buttons, later ones are dropped.
  // The clicked button's name/value is copied into a hidden field first, because disabled buttons are
  // left out of the submitted data.
  function guardForm(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "true") {
        event.preventDefault();
        return;
      }
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      var submitter = event.submitter;
      if (submitter && submitter.name) {
        var mirror = document.createElement("input");
        mirror.type = "hidden";
        mirror.name = submitter.name;
        mirror.value = submitter.value;
        form.appendChild(mirror);
      }
      form.dataset.sent = "true";
      form.setAttribute("aria-busy", "true");
      window.setTimeout(function () {
        form.querySelectorAll("button").forEach(function (button) {
          button.disabled = true;
        });
        if (submitter) {
          submitter.textContent = "Sending…";
        }
      }, 0);
    });
  }

  function autosubmit(form) {
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () {
        form.requestSubmit();
      });
    });
  }

  // A region is left alone while someone works in it: focus inside, or a field they changed.
  function busy(region) {
    if (region.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    return region.querySelector("[data-dirty], form[data-sent='true']") !== null;
  }

  function markDirty(event) {
    if (event.target && event.target.form) {
      event.target.setAttribute("data-dirty", "true");
    }
  }

  function refresh() {
    if (document.visibilityState !== "visible") {
      return Promise.resolve(true);
    }
    return fetch(window.location.href, {
      credentials: "same-origin",
      headers: { "X-Dashboard-Refresh": "1" },
      cache: "no-store",
    }).then(function (response) {
      if (!response.ok) {
        return false;
      }
      return response.text().then(function (html) {
        // DOMParser builds an inert document: nothing in it runs, and the server escaped every value.
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (region) {
          var replacement = fresh.getElementById(region.id);
          if (replacement && !busy(region) && replacement.innerHTML !== region.innerHTML) {
            // The region node itself stays, so a screen reader's aria-live region announces the change.
            var copy = document.importNode(replacement, true);
            region.replaceChildren.apply(region, Array.from(copy.childNodes));
          }
        });
        document.querySelectorAll("form[data-once]").forEach(function (form) {
          if (!form.dataset.guarded) {
            form.dataset.guarded = "true";
            guardForm(form);
          }
        });
        return true;
      });
    });
  }

  function loop() {
    refresh()
      .catch(function () {
        return true;
      })
      .then(function (keepGoing) {
        if (keepGoing) {
          window.setTimeout(loop, REFRESH_MS);
        }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.dataset.guarded = "true";
      guardForm(form);
    });
    document.querySelectorAll("form[data-autosubmit]").forEach(autosubmit);
    document.addEventListener("input", markDirty);
    if (document.querySelector("[data-live]")) {
      window.setTimeout(loop, REFRESH_MS);
    }
  });
})();
