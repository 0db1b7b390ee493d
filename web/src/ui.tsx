/** Small building blocks the pages share (react-aria-components underneath). */
import { Button, Label, ListBox, ListBoxItem, Popover, Select, SelectValue } from "react-aria-components";

/** A labelled single choice from a short list (a react-aria Select). */
export function Choice({ label, items, value, onChange }: { label: string; items: { id: string; name: string }[]; value: string; onChange(v: string): void }) {
  return (
    <Select className="field select" selectedKey={value} onSelectionChange={(k) => onChange(String(k))}>
      <Label>{label}</Label>
      <Button className="select-button">
        <SelectValue />
        <span aria-hidden="true">▾</span>
      </Button>
      <Popover className="popover">
        <ListBox items={items} className="listbox">
          {(i) => (
            <ListBoxItem id={i.id} className="option">
              {i.name}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </Select>
  );
}

/** An error the person can act on, announced when it appears; nothing without one. */
export function ErrorLine({ error, testId }: { error: string | null | undefined; testId?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" data-testid={testId}>
      {error}
    </p>
  );
}
