import { useEffect } from "react";

/** Names the page in the window title, which is what a screen reader announces on arrival. */
export function useTitle(page: string): void {
  useEffect(() => {
    document.title = `${page} · Slipway`;
  }, [page]);
}
