import { useQuery } from "@tanstack/react-query";
import { Link, NavLink, Route, Routes, useParams } from "react-router";
import { ErrorBanner, Page } from "../../shared/ui";
import { api } from "../context";
import { Dashboard } from "../dashboard/Dashboard";
import { Marketing } from "../marketing/Marketing";
import { AuditLog } from "../records/AuditLog";
import { Exports } from "../records/Exports";
import { ProgramList } from "../programs/ProgramList";
import { ProgramPage } from "../programs/ProgramPage";
import { Brands } from "../setup/Brands";
import { BusinessDetails } from "../setup/BusinessDetails";
import { Stores } from "./Stores";
import { Team } from "./Team";

/** One business: its setup (stores, terminals, programs, rewards), dashboard and team. */
export function Business() {
  const { businessId = "" } = useParams();
  const business = useQuery({
    queryKey: ["business", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}", { params: { path: { business_id: businessId } } })).data,
  });
  return (
    <Page title={business.data?.name ?? "Business"}>
      <p>
        <Link to="/">All businesses</Link>
      </p>
      <nav className="tabs" aria-label="Business">
        <NavLink to={`/b/${businessId}`} end>
          Setup
        </NavLink>
        <NavLink to={`/b/${businessId}/dashboard`}>Dashboard</NavLink>
        <NavLink to={`/b/${businessId}/team`}>Team</NavLink>
        <NavLink to={`/b/${businessId}/marketing`}>Marketing</NavLink>
        <NavLink to={`/b/${businessId}/exports`}>Exports</NavLink>
        <NavLink to={`/b/${businessId}/audit`}>Audit log</NavLink>
      </nav>
      <ErrorBanner error={business.error} />
      <Routes>
        <Route
          index
          element={
            <>
              {business.data && <BusinessDetails business={business.data} />}
              <Stores businessId={businessId} />
              <Brands businessId={businessId} />
              <ProgramList businessId={businessId} />
            </>
          }
        />
        <Route path="programs/:programId" element={<ProgramPage businessId={businessId} />} />
        <Route path="dashboard" element={<Dashboard businessId={businessId} />} />
        <Route path="team" element={<Team businessId={businessId} />} />
        <Route path="marketing" element={<Marketing businessId={businessId} />} />
        <Route path="exports" element={<Exports businessId={businessId} />} />
        <Route path="audit" element={<AuditLog businessId={businessId} />} />
      </Routes>
    </Page>
  );
}
