import { useState } from "react";
import { Navigate, Route, Routes } from "react-router";
import { Counter } from "./Counter";
import { type Device, paired, unpair } from "./device";
import { Pair } from "./Pair";

export function App() {
  const [device, setDevice] = useState<Device | null>(paired);
  return (
    <div className="pos">
      <Routes>
        <Route path="/pair" element={<Pair onPaired={() => setDevice(paired())} />} />
        {/* Under /pos/…, never /pos itself: the service worker's scope is /pos/. */}
        <Route
          path="/counter"
          element={
            device ? (
              <Counter
                device={device}
                onUnpair={() => {
                  unpair();
                  setDevice(null);
                }}
              />
            ) : (
              <Navigate to="/pair" replace />
            )
          }
        />
        <Route path="*" element={<Navigate to={device ? "/counter" : "/pair"} replace />} />
      </Routes>
    </div>
  );
}
