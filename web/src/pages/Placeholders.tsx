/** The page for an address the app has no page for. */
import { useEffect } from "react";
import { Link } from "react-aria-components";

function useTitle(t: string) {
  useEffect(() => {
    document.title = `${t} · Daalu Federation`;
  }, [t]);
}

export function NotFoundPage() {
  useTitle("Not found");
  return (
    <section className="card">
      <h1>There is no page here</h1>
      <Link href="/clusters">Go to the clusters</Link>
    </section>
  );
}
