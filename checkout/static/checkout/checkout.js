/*
 * The checkout's progressive enhancements: focus the error summary, fold the order
 * summary on a phone, reveal the billing form, address fields that follow the chosen
 * country, the variant picker (prices through Intl.NumberFormat), and the payment
 * flow. The form's data-payment-ui says which:
 *
 * Payment Element (Stripe: cards, Link, Apple Pay, Google Pay; server-side confirmation):
 *   1. elements.submit() (first, while the click still counts as the shopper's gesture),
 *   2. POST the billing form (JSON answer: billing details),
 *   3. stripe.createConfirmationToken({elements, params: {payment_method_data}}),
 *   4. POST {confirmation_token_id}: the server creates and confirms the PaymentIntent,
 *   5. on requires_action, stripe.handleNextAction({clientSecret}) (3-D Secure, once),
 *   6. POST the place endpoint -> {redirect} (confirmation or "we are confirming").
 *
 * Card Element (localstripe, offline; localstripe.md, "The Card Element flow"):
 *   1. POST the billing form (JSON answer: billing details + a fresh SetupIntent secret),
 *   2. stripe.confirmCardSetup(secret, {payment_method: {card, billing_details}}),
 *   3. POST {payment_method_id} to the pay endpoint -> authorized | requires_action | not_required,
 *   4. on requires_action, stripe.confirmCardPayment(client_secret) (3-D Secure),
 *   5. POST the place endpoint, as above.
 * The pay button stays disabled while a payment is in flight. No build step, no CDN.
 */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function readJSON(id) {
    var node = document.getElementById(id);
    if (!node) return {};
    try { return JSON.parse(node.textContent); } catch (e) { return {}; }
  }

  // Amounts as the server writes them: the page names its language and currency
  // (data-money-locale, data-money-currency) and Intl reads the same CLDR data as babel.
  function moneyFormatter(node) {
    var locale = node.dataset.moneyLocale || document.documentElement.lang || undefined;
    var currency = node.dataset.moneyCurrency || "USD";
    var format;
    try {
      format = new Intl.NumberFormat(locale, { style: "currency", currency: currency });
    } catch (e) {  // an unknown locale tag: the browser's own language
      format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
    }
    return function (value) { return format.format(Number(value)); };
  }

  // --- Error summary takes focus -------------------------------------------------------
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        if (!link) return;
        var target = document.getElementById(link.getAttribute("href").slice(1));
        if (target) { event.preventDefault(); target.focus(); }
      });
      return;
    }
    // A one-field form (promo code, gift card) has no summary: its field takes focus.
    var invalid = document.querySelector(".checkout-inline-form .checkout-field--invalid input");
    if (invalid) invalid.focus();
  }

  // --- Billing address toggle ----------------------------------------------------------
  function initBillingToggle() {
    var toggle = document.querySelector("[data-billing-toggle]");
    var fields = document.getElementById("billing-fields");
    if (!toggle || !fields) return;
    var sync = function () {
      fields.hidden = toggle.checked;
      toggle.setAttribute("aria-expanded", String(!toggle.checked));
    };
    toggle.addEventListener("change", sync);
    sync();
  }

  // --- Address fields follow the country -----------------------------------------------
  // Each country has its own address fields, labels, regions and postal code. On a new
  // country the form is posted with refresh_address (nothing is saved) and the fields the
  // server renders for that country replace the old ones, keeping what was typed. Without
  // JavaScript, or if this fails, the next submit shows them instead.
  function initAddressCountry() {
    if (!window.fetch || !window.DOMParser) return;
    document.querySelectorAll("select[data-address-country]").forEach(function (select) {
      var form = select.form;
      var shown = form && form.querySelector(
        "input[name='" + select.name.replace(/country$/, "shown_country") + "']");
      var block = shown && shown.closest("[data-address-fields]");
      if (!block) return;
      var latest = 0;
      select.addEventListener("change", function () {
        var request = ++latest;
        var body = new FormData(form);
        body.append("refresh_address", "1");
        block.setAttribute("aria-busy", "true");
        fetch(form.action, {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(form), Accept: "text/html" },
        }).then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        }).then(function (html) {
          if (request !== latest) return;  // an answer for a country no longer chosen
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(block.id);
          if (!fresh) return;
          var node = document.importNode(fresh, true);
          block.replaceWith(node);
          block = node;
        }).catch(function () {
          // Left as is: the server shows the new country's fields on the next submit.
        }).then(function () {
          block.removeAttribute("aria-busy");
        });
      });
    });
  }

  // --- Order summary folds on a phone --------------------------------------------------
  // Below the width where the summary sits beside the form (checkout.css), it shows as
  // one line: the total and a button that opens it. Without this script it stays open.
  function initSummaryToggle() {
    var summary = document.querySelector("[data-summary]");
    var toggle = summary && summary.querySelector("[data-summary-toggle]");
    if (!toggle) return;
    var label = toggle.querySelector("[data-summary-toggle-label]");
    var set = function (open) {
      summary.classList.toggle("checkout-summary--open", open);
      toggle.setAttribute("aria-expanded", String(open));
      label.textContent = open ? label.dataset.hide : label.dataset.show;
    };
    summary.classList.add("checkout-summary--foldable");
    toggle.hidden = false;
    set(false);
    toggle.addEventListener("click", function () {
      set(toggle.getAttribute("aria-expanded") !== "true");
    });
  }

  // --- Variant picker ------------------------------------------------------------------
  function initVariantPicker() {
    var form = document.querySelector("[data-variant-form]");
    if (!form) return;
    var variants = readJSON("variants-data");
    var labels = readJSON("variant-labels");
    var price = document.querySelector("[data-variant-price]");
    var compare = document.querySelector("[data-variant-compare]");
    var stock = document.querySelector("[data-variant-stock]");
    var image = document.querySelector("[data-variant-image]");
    var button = form.querySelector("[data-add-button]");
    var buttonLabel = form.querySelector("[data-add-label]");
    var money = moneyFormatter(form);
    var chosen = function () {
      var result = {};
      form.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
        result[input.name.replace(/^attr_/, "")] = input.value;
      });
      return result;
    };
    var matches = function (variant, choice) {
      return Object.keys(choice).every(function (key) {
        return (variant.attributes[key] || "") === choice[key];
      });
    };
    var update = function () {
      var choice = chosen();
      var variant = variants.find(function (v) { return matches(v, choice); });
      // Mark options that are sold out given the other current choices.
      form.querySelectorAll("input[type=radio]").forEach(function (input) {
        var key = input.name.replace(/^attr_/, "");
        var alt = Object.assign({}, choice);
        alt[key] = input.value;
        var candidate = variants.find(function (v) { return matches(v, alt); });
        var label = input.closest(".checkout-option");
        if (label) label.classList.toggle("checkout-option--sold-out", !candidate || !candidate.in_stock);
      });
      if (!variant) {
        price.textContent = "";
        compare.textContent = "";
        stock.textContent = labels.unavailable || "";
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
        buttonLabel.textContent = labels.unavailable || "";
        return;
      }
      if (image && variant.image_url) image.src = variant.image_url;
      price.textContent = money(variant.price);
      compare.textContent = variant.compare_at_price ? money(variant.compare_at_price) : "";
      if (variant.in_stock) {
        stock.textContent = variant.quantity_available <= 3
          ? (labels.low_stock || "").replace("%(n)s", variant.quantity_available)
          : labels.in_stock;
        button.disabled = false;
        button.removeAttribute("aria-disabled");
        buttonLabel.textContent = labels.add;
      } else {
        stock.textContent = labels.sold_out;
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
        buttonLabel.textContent = labels.sold_out;
      }
    };
    form.addEventListener("change", update);
    update();
  }

  // --- Payment -------------------------------------------------------------------------
  // The shipping step's summary follows the rate picked; the server priced each rate.
  function initRatePicker() {
    var picker = document.querySelector("[data-rate-picker]");
    if (!picker) return;
    var summaries = readJSON("rate-summaries") || {};
    var show = function (testid, text) {
      var node = document.querySelector('[data-testid="' + testid + '"]');
      if (!node) return;
      node.textContent = text;
      if (testid === "summary-shipping-note") node.hidden = !text;
    };
    picker.addEventListener("change", function (event) {
      var figures = summaries[event.target.value];
      if (!figures) return;
      show("summary-shipping", figures.shipping);
      show("summary-gift-card", figures.gift_card);
      show("summary-total", figures.total);
      show("summary-toggle-total", figures.total);
      show("summary-shipping-note", figures.note);
    });
  }

  function initPayment() {
    var form = document.querySelector("[data-payment-form]");
    // A refused promo or gift card is answered from its own URL; show the step's URL,
    // so a reload or a revisit asks for the payment step.
    if (form && form.dataset.stepUrl && window.location.pathname !== form.dataset.stepUrl) {
      window.history.replaceState(null, "", form.dataset.stepUrl);
    }
    if (!form) return;
    var labels = readJSON("payment-labels");
    var button = form.querySelector("[data-pay-button]");
    var buttonLabel = form.querySelector("[data-pay-label]");
    var idleLabel = buttonLabel.textContent;
    var status = form.querySelector("[data-pay-status]");
    var cardErrors = form.querySelector("[data-card-errors]");
    var paymentNeeded = form.dataset.paymentNeeded === "true";
    var usesPaymentElement = form.dataset.paymentUi === "payment_element";
    var inFlight = false;
    var stripe = null;
    var card = null;
    var elements = null;

    var onChange = function (event) {
      if (event && event.error) { cardErrors.textContent = event.error.message; }
      else if (!inFlight) { cardErrors.textContent = ""; }
    };

    if (paymentNeeded) {
      if (typeof window.Stripe !== "function") {
        cardErrors.textContent = labels.stripe_missing;
        button.disabled = true;
        return;
      }
      stripe = window.Stripe(form.dataset.stripeKey);
      if (usesPaymentElement) {
        if (!document.getElementById("payment-element-options")) {
          // No amount could be computed (the page says why): nothing to pay yet.
          cardErrors.textContent = labels.generic;
          button.disabled = true;
          return;
        }
        // Deferred intent: amount and currency for display (and wallets' sheets) only;
        // the server decides the amount when it creates the PaymentIntent.
        elements = stripe.elements(readJSON("payment-element-options"));
        card = elements.create("payment", {
          // Our own billing form collects these; they go with the ConfirmationToken.
          fields: { billingDetails: { name: "never", email: "never", phone: "never", address: "never" } },
        });
        card.mount("#payment-element");
      } else {
        card = stripe.elements().create("card", { hidePostalCode: false });
        card.mount("#card-element");
        labelFakeCardInputs();
      }
      if (card.on) card.on("change", onChange);
    }

    // The offline Stripe.js (localstripe) mounts bare inputs in our page; give them labels.
    // Real Stripe.js mounts an iframe with its own labels, so this finds nothing there.
    function labelFakeCardInputs() {
      var names = ["card_number", "exp_month", "exp_year", "cvc", "postal_code"];
      document.querySelectorAll("#card-element input").forEach(function (input, index) {
        var key = input.getAttribute("placeholder") === "number" ? "card_number" : input.getAttribute("placeholder");
        key = labels[key] ? key : names[index];
        if (labels[key] && !input.getAttribute("aria-label")) input.setAttribute("aria-label", labels[key]);
        if (key === "card_number") input.setAttribute("autocomplete", "cc-number");
        if (key === "cvc") input.setAttribute("autocomplete", "cc-csc");
        if (key === "postal_code") input.setAttribute("autocomplete", "billing postal-code");
        input.setAttribute("inputmode", "numeric");
      });
      var prefix = document.querySelector("#card-element > span");
      if (prefix) prefix.setAttribute("aria-hidden", "true");
    }

    function setBusy(busy, message) {
      inFlight = busy;
      button.disabled = busy;
      button.setAttribute("aria-busy", String(busy));
      buttonLabel.textContent = busy ? (message || labels.processing) : idleLabel;
      status.textContent = busy ? (message || labels.processing) : "";
    }

    function showError(message) {
      setBusy(false);
      cardErrors.textContent = message || labels.generic;
      var field = document.getElementById("card-field");
      if (field) field.classList.add("checkout-field--invalid");
      if (usesPaymentElement && card && card.focus) { card.focus(); return; }
      var first = document.querySelector("#card-element input") || button;
      first.focus();
    }

    function post(url, body, isForm) {
      var headers = { "X-CSRFToken": csrfToken(form), "Accept": "application/json" };
      if (!isForm) headers["Content-Type"] = "application/json";
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: headers,
        body: isForm ? body : JSON.stringify(body || {}),
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
      });
    }

    function follow(data) {
      if (data && data.redirect) { window.location.assign(data.redirect); return true; }
      return false;
    }

    function place() {
      setBusy(true, labels.placing);
      return post(form.dataset.placeUrl, {}).then(function (res) {
        if (res.data.status === "placed" || res.data.status === "pending") {
          follow(res.data);
          return;
        }
        if (res.data.redirect && res.data.step && res.data.step !== "payment") {
          follow(res.data);
          return;
        }
        showError(res.data.message);
      });
    }

    // Stripe's messages are written for the shopper only for card and validation errors
    // (a decline, an incomplete number); others, such as a failed 3-D Secure prompt, are
    // developer text ("The latest attempt to set up the payment method has failed...").
    function stripeMessage(error) {
      if (error && (error.type === "card_error" || error.type === "validation_error") && error.message) {
        return error.message;
      }
      var text = (error && (error.code || "") + " " + (error.message || "")) || "";
      return /authenticat/i.test(text) ? labels.authentication_failed : labels.generic;
    }

    // Ask the bank's 3-D Secure on the PaymentIntent the server created (the only time).
    function authenticate(clientSecret) {
      if (usesPaymentElement) return stripe.handleNextAction({ clientSecret: clientSecret });
      return stripe.confirmCardPayment(clientSecret);
    }

    function pay(body) {
      return post(form.dataset.payUrl, body).then(function (res) {
        if (!res.ok) {
          if (res.data.reason === "step_unreachable" && follow(res.data)) return;
          showError(res.data.message);
          return;
        }
        if (res.data.status === "requires_action") {
          setBusy(true, labels.authenticating);
          return authenticate(res.data.client_secret).then(function (result) {
            if (result.error) { showError(stripeMessage(result.error)); return; }
            return place();
          });
        }
        return place();
      });
    }

    // Save the billing address; resolves with its JSON answer, or null when handled.
    function saveBilling() {
      return post(form.action, new FormData(form), true).then(function (res) {
        if (res.ok) return res;
        if (res.data.reason === "invalid_billing") {
          // Let the server render the billing errors with the error summary.
          HTMLFormElement.prototype.submit.call(form);
          return null;
        }
        if (res.data.reason === "step_unreachable" && follow(res.data)) return null;
        showError(res.data.message);
        return null;
      });
    }

    function payWithPaymentElement() {
      return elements.submit().then(function (submitted) {
        if (submitted && submitted.error) { showError(stripeMessage(submitted.error)); return; }
        return saveBilling().then(function (res) {
          if (!res) return;
          return stripe.createConfirmationToken({
            elements: elements,
            params: { payment_method_data: { billing_details: res.data.billing_details } },
          }).then(function (result) {
            if (result.error) { showError(stripeMessage(result.error)); return; }
            return pay({ confirmation_token_id: result.confirmationToken.id });
          });
        });
      });
    }

    function payWithCardElement() {
      return saveBilling().then(function (res) {
        if (!res) return;
        if (!paymentNeeded) return pay({ payment_method_id: "" });
        return stripe.confirmCardSetup(res.data.setup_intent_secret, {
          payment_method: { card: card, billing_details: res.data.billing_details },
        }).then(function (result) {
          if (result.error) { showError(stripeMessage(result.error)); return; }
          return pay({ payment_method_id: result.setupIntent.payment_method });
        });
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (inFlight) return;  // a double click starts one payment
      cardErrors.textContent = "";
      var field = document.getElementById("card-field");
      if (field) field.classList.remove("checkout-field--invalid");
      if (paymentNeeded && card && card.value === undefined && document.querySelector("#card-element input")) {
        showError(labels.card_incomplete);
        return;
      }
      setBusy(true);
      var flow = paymentNeeded && usesPaymentElement ? payWithPaymentElement : payWithCardElement;
      flow().catch(function () {
        showError(labels.network);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    initSummaryToggle();
    initBillingToggle();
    initAddressCountry();
    initVariantPicker();
    initRatePicker();
    initPayment();
  });
})();
