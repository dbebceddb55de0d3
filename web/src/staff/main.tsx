import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { ProblemError } from "../api/problem";
import "../shared/app.css";
import { App } from "./App";
import { session } from "./context";

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      // A refusal will not change by asking again; a network error may.
      retry: (count, error) => !(error instanceof ProblemError && error.status < 500) && count < 3,
    },
  },
});

// A session that can no longer be refreshed ends here: back to sign-in.
queries.getQueryCache().subscribe((event) => {
  const error = event.query.state.error;
  if (error instanceof ProblemError && error.status === 401) session.clear();
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <BrowserRouter basename="/staff">
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
