import { useQuery } from "@tanstack/react-query";
import { Link, NavLink, Route, Routes, useParams } from "react-router";
import { ErrorBanner, Page } from "../../shared/ui";
import { type Tab, access } from "../access";
import { api } from "../context";
import { Dashboard } from "../dashboard/Dashboard";
import { Marketing } from "../marketing/Marketing";
import { AuditLog } from "../records/AuditLog";
import { Exports } from "../records/Exports";
import { ProgramList } from "../programs/ProgramList";
import { ProgramPage } from "../programs/ProgramPage";
import { Brands } from "../setup/Brands";
import { BusinessDetails } from "../setup/BusinessDetails";
import { GettingStarted } from "../setup/GettingStarted";
import { Stores } from "./Stores";
import { Team } from "./Team";

const TABS: { tab: Tab; path: string; label: string }[] = [
  { tab: "setup", path: "", label: "Setup" },
  { tab: "dashboard", path: "/dashboard", label: "Dashboard" },
  { tab: "team", path: "/team", label: "Team" },
  { tab: "marketing", path: "/marketing", label: "Marketing" },
  { tab: "exports", path: "/exports", label: "Exports" },
  { tab: "audit", path: "/audit", label: "Audit log" },
];

/** One business: its setup (stores, terminals, programs, rewards), dashboard and team. */
export function Business() {
  const { businessId = "" } = useParams();
  const business = useQuery({
    queryKey: ["business", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}", { params: { path: { business_id: businessId } } })).data,
  });
  const me = useQuery({
    queryKey: ["me"],
    queryFn: async () => (await api.GET("/v1/staff/me")).data,
  });
  // Nothing role-dependent is drawn before the roles are known: a page
  // opened with the wrong ones would start on the wrong figures.
  if (!me.data) {
    return (
      <Page title={business.data?.name ?? "Business"}>
        <ErrorBanner error={me.error ?? business.error} />
      </Page>
    );
  }
  const may = access(me.data.staff.memberships, businessId);
  // Setup's forms are for owners and admins; others read it (store
  // managers also look after their stores' terminals).
  const admin = may.storesOnly === null;
  return (
    <Page title={business.data?.name ?? "Business"}>
      <p>
        <Link to="/">All businesses</Link>
      </p>
      <nav className="tabs" aria-label="Business">
        {TABS.filter((t) => may.tabs.includes(t.tab)).map((t) => (
          <NavLink key={t.tab} to={`/b/${businessId}${t.path}`} end={t.path === ""}>
            {t.label}
          </NavLink>
        ))}
      </nav>
      <ErrorBanner error={business.error} />
      <Routes>
        <Route
          index
          element={
            <>
              {admin && <GettingStarted businessId={businessId} />}
              {admin && business.data && <BusinessDetails business={business.data} />}
              <Stores businessId={businessId} manage={admin} managed={may.storesOnly ?? []} />
              {admin && <Brands businessId={businessId} />}
              <ProgramList businessId={businessId} manage={admin} />
            </>
          }
        />
        <Route path="programs/:programId" element={<ProgramPage businessId={businessId} />} />
        <Route path="dashboard" element={<Dashboard businessId={businessId} storesOnly={may.storesOnly} />} />
        <Route path="team" element={<Team businessId={businessId} />} />
        <Route path="marketing" element={<Marketing businessId={businessId} />} />
        <Route path="exports" element={<Exports businessId={businessId} />} />
        <Route path="audit" element={<AuditLog businessId={businessId} />} />
      </Routes>
    </Page>
  );
}
