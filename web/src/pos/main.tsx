import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import "../shared/app.css";
import { App } from "./App";

// The counter opens even when the server is out of reach (src/pos/sw.js).
if ("serviceWorker" in navigator) {
  void navigator.serviceWorker.register("/pos/sw.js", { scope: "/pos/" });
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={new QueryClient()}>
      <BrowserRouter basename="/pos">
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
