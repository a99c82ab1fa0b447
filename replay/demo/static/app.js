// Bean & Brew: each page's script, picked by <body data-page>. Plain JavaScript, same origin only.
"use strict";

const money = (cents) => (cents / 100).toFixed(2);

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function item(href, text, extra) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  li.append(a, extra ? ` ${extra}` : "");
  return li;
}

function stockText(product) {
  return product.stock > 0 ? `${product.stock} in stock` : "sold out";
}

const pages = {
  async home() {
    const list = document.getElementById("featured");
    const products = await getJSON("/api/products");
    for (const p of products.filter((p) => p.stock > 0).slice(0, 3)) {
      list.append(item(`/products/${p.slug}`, p.name, `${money(p.price_cents)} €`));
    }
    list.removeAttribute("aria-busy");
  },

  async products() {
    for (const p of await getJSON("/api/products")) {
      const badge = document.querySelector(`[data-stock="${p.slug}"]`);
      if (badge) badge.textContent = stockText(p);
    }
  },

  async product() {
    const slug = encodeURIComponent(document.body.dataset.slug);
    document.getElementById("stock").textContent = stockText(await getJSON(`/api/products/${slug}`));
  },

  shop() {
    let token = null; // in memory only, like a single-page app
    let orderUrl = null;
    const status = document.getElementById("shop-status");

    async function api(method, url, body) {
      const headers = { Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      const init = { method, headers };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const response = await fetch(url, init);
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || `${method} ${url}: HTTP ${response.status}`);
      return { response, data };
    }

    function on(id, type, handler) {
      document.getElementById(id).addEventListener(type, (event) => {
        event.preventDefault();
        status.textContent = "";
        handler(event.currentTarget).catch((error) => {
          status.textContent = error.message;
          status.className = "error";
        });
      });
    }

    function showOrder(order) {
      document.getElementById("order").hidden = false;
      document.getElementById("order-id").textContent = order.id;
      document.getElementById("order-name").textContent = order.name;
      document.getElementById("order-quantity").textContent = order.quantity;
      document.getElementById("order-total").textContent = money(order.total_cents);
      document.getElementById("order-updated").textContent = order.updated_at;
      document.querySelector("#update-order [name=quantity]").value = order.quantity;
    }

    async function listOrders() {
      const { data } = await api("GET", "/api/orders");
      document
        .getElementById("my-orders")
        .replaceChildren(...data.map((o) => item("#", `${o.id}: ${o.quantity} × ${o.name}`)));
    }

    on("api-login", "submit", async (form) => {
      const credentials = { email: form.email.value, password: form.password.value };
      token = (await api("POST", "/api/login", credentials)).data.token;
      const me = (await api("GET", "/api/me")).data;
      document.getElementById("who").textContent = `Signed in as ${me.name} (${me.email}).`;
      form.hidden = true;
      document.getElementById("order-panel").hidden = false;
      await listOrders();
    });

    on("new-order", "submit", async (form) => {
      const order = { product: form.product.value, quantity: Number(form.quantity.value) };
      const { response, data } = await api("POST", "/api/orders", order);
      orderUrl = response.headers.get("Location");
      showOrder(data);
      status.textContent = `Order ${data.id} placed.`;
      status.className = "ok";
      await listOrders();
    });

    on("view-order", "click", async () => {
      showOrder((await api("GET", orderUrl)).data);
    });

    on("update-order", "submit", async (form) => {
      const id = document.getElementById("order-id").textContent;
      const change = { quantity: Number(form.quantity.value) };
      showOrder((await api("PATCH", `/api/orders/${id}`, change)).data);
      status.textContent = `Order ${id} updated.`;
      status.className = "ok";
    });
  },
};

const page = pages[document.body.dataset.page];
if (page) {
  Promise.resolve()
    .then(page)
    .catch((error) => console.error(error));
}
