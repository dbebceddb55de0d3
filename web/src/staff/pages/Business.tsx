import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { ErrorBanner, Page } from "../../shared/ui";
import { api } from "../context";
import { Programs } from "./Programs";
import { Stores } from "./Stores";

/** One business: its stores (with their terminals) and its programs (with their rewards). */
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
      <ErrorBanner error={business.error} />
      <Stores businessId={businessId} />
      <Programs businessId={businessId} />
    </Page>
  );
}
