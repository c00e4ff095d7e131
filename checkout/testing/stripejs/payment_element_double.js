/*
 * A test double of Stripe.js's Payment Element surface, for browser tests that cannot load
 * the real Stripe.js (checkout.testing.payment_element serves it in its place):
 *
 *   Stripe(key) -> stripe
 *   stripe.elements(options) -> elements            (deferred intent: mode, amount, currency, ...)
 *   elements.create("payment", options) -> element  (element.mount(selector), .on(event, cb), .focus())
 *   elements.submit() -> Promise<{error?}>
 *   stripe.createConfirmationToken({elements, params}) -> Promise<{confirmationToken: {id}} | {error}>
 *   stripe.handleNextAction({clientSecret}) -> Promise<{paymentIntent} | {error}>
 *
 * Every call is recorded in window.__stripeDouble.calls ([name, argument]) so a test can
 * check what the page asked for. The mounted element is one labelled input standing for
 * the payment details: left empty, elements.submit() answers a validation_error as
 * Stripe's does; the token id is "ctoken_" followed by what was typed (letters and digits),
 * so a test chooses the server-side outcome. handleNextAction opens a dialog with
 * "Complete authentication" and "Fail authentication", like localstripe's fake 3-D Secure.
 */
(function () {
  "use strict";
  var record = { calls: [], elementsOptions: null, paymentOptions: null };
  window.__stripeDouble = record;

  function call(name, arg) { record.calls.push([name, arg === undefined ? null : JSON.parse(JSON.stringify(arg, function (k, v) { return k === "elements" ? "[elements]" : v; }))]); }

  function PaymentElement(options) {
    this.options = options || {};
    this.handlers = {};
    this.input = null;
  }
  PaymentElement.prototype.mount = function (selector) {
    call("paymentElement.mount", selector);
    var host = typeof selector === "string" ? document.querySelector(selector) : selector;
    var label = document.createElement("label");
    label.textContent = "Payment details (test double)";
    label.setAttribute("for", "payment-element-double");
    var input = document.createElement("input");
    input.id = "payment-element-double";
    input.setAttribute("autocomplete", "off");
    var self = this;
    input.addEventListener("input", function () {
      (self.handlers.change || []).forEach(function (cb) { cb({ complete: !!input.value, empty: !input.value }); });
    });
    host.appendChild(label);
    host.appendChild(input);
    this.input = input;
  };
  PaymentElement.prototype.on = function (event, cb) {
    (this.handlers[event] = this.handlers[event] || []).push(cb);
  };
  PaymentElement.prototype.focus = function () { if (this.input) this.input.focus(); };

  function Elements(options) { this.options = options || {}; this.element = null; }
  Elements.prototype.create = function (type, options) {
    call("elements.create", { type: type, options: options || {} });
    if (type !== "payment") throw new Error("The double only has the Payment Element, not " + type);
    record.paymentOptions = options || {};
    this.element = new PaymentElement(options);
    return this.element;
  };
  Elements.prototype.update = function (options) {
    call("elements.update", options);
    Object.assign(this.options, options || {});
  };
  Elements.prototype.submit = function () {
    call("elements.submit");
    var value = this.element && this.element.input ? this.element.input.value : "";
    if (!value) {
      return Promise.resolve({ error: { type: "validation_error", code: "incomplete_number", message: "Your card number is incomplete." } });
    }
    return Promise.resolve({});
  };

  function dialog(resolve) {
    var box = document.createElement("div");
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "3-D Secure (test double)");
    [["Complete authentication", true], ["Fail authentication", false]].forEach(function (pair) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = pair[0];
      b.addEventListener("click", function () { box.remove(); resolve(pair[1]); });
      box.appendChild(b);
    });
    document.body.appendChild(box);
  }

  window.Stripe = function (key) {
    call("Stripe", key);
    return {
      elements: function (options) {
        call("stripe.elements", options);
        record.elementsOptions = options || {};
        return new Elements(options);
      },
      createConfirmationToken: function (options) {
        call("stripe.createConfirmationToken", options);
        var element = options && options.elements && options.elements.element;
        var typed = element && element.input ? element.input.value.replace(/[^A-Za-z0-9]/g, "") : "";
        return Promise.resolve({ confirmationToken: { id: "ctoken_" + typed, object: "confirmation_token" } });
      },
      handleNextAction: function (options) {
        call("stripe.handleNextAction", options);
        return new Promise(function (resolve) {
          dialog(function (ok) {
            if (ok) resolve({ paymentIntent: { status: "requires_capture" } });
            else resolve({ error: { type: "invalid_request_error", code: "payment_intent_authentication_failure", message: "We are unable to authenticate your payment method." } });
          });
        });
      },
      confirmCardSetup: function () { throw new Error("The Payment Element flow must not use a SetupIntent"); },
      confirmCardPayment: function () { throw new Error("The Payment Element flow uses handleNextAction"); },
    };
  };
})();
