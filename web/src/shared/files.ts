// A file sent as the request body itself (a logo, a reward's picture): the
// API takes the bytes with their content type, not JSON or a form.
export function rawBody(file: File) {
  return {
    body: file as unknown as string,
    bodySerializer: (b: unknown) => b as Blob,
    headers: { "content-type": file.type },
  };
}
