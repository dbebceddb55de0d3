// Starting points for a mailing's text: a business picks one and edits it.
// The mail itself adds the greeting, the business's name and the
// unsubscribe link, so none of these carries them.
export interface Starter {
  name: string;
  subject: string;
  body: string;
}

export const STARTERS: Starter[] = [
  {
    name: "Double stamps",
    subject: "Double stamps this weekend",
    body: "Every visit this Saturday and Sunday earns two stamps instead of one.\nShow your card at the counter as usual.",
  },
  {
    name: "We miss you",
    subject: "It's been a while",
    body: "We haven't seen you for some time, and your card is still waiting.\nCome by this week: your next visit gets you closer to your reward.",
  },
  {
    name: "New reward",
    subject: "Something new to earn",
    body: "There's a new reward on your card.\nAsk at the counter, or open your card in the app to see it.",
  },
  { name: "Blank", subject: "", body: "" },
];
