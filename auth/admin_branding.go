package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// The logo of the branding page (docs/settings.md). The file goes to the BrandingStore; its
// version goes to the internal setting site_logo, so every instance's next page links to the
// new file (through the change feed, like any setting change).

// SetLogo checks that data is a PNG or SVG of at most gatehouse.MaxLogoBytes (by its content,
// whatever it was declared as) and makes it the site logo.
func (s *Admin) SetLogo(ctx context.Context, admin *Principal, data []byte, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	ct, err := gatehouse.SniffLogo(data)
	if err != nil {
		return err
	}
	l := &gatehouse.Logo{ContentType: ct, Data: data, UpdatedAt: s.clock.Now()}
	if err := s.store.SaveLogo(ctx, l); err != nil {
		return err
	}
	return s.setLogoVersion(ctx, admin, l.Version(), meta)
}

// DeleteLogo goes back to the built-in mark.
func (s *Admin) DeleteLogo(ctx context.Context, admin *Principal, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	if err := s.store.DeleteLogo(ctx); err != nil {
		return err
	}
	return s.setLogoVersion(ctx, admin, "", meta)
}

func (s *Admin) setLogoVersion(ctx context.Context, admin *Principal, version string, meta ClientMeta) error {
	if err := s.store.UpdateSettings(ctx, map[string]string{"site_logo": version}, s.clock.Now()); err != nil {
		return err
	}
	if err := s.core.reloadSettings(ctx); err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventSettingsChanged, admin.User.ID, admin.SessionID, meta, map[string]any{"keys": []string{"site_logo"}})
	return nil
}

// Logo returns the site logo for anyone (pages and mail show it before sign-in); ENotFound when
// there is none.
func (s *Core) Logo(ctx context.Context) (*gatehouse.Logo, error) {
	return s.store.Logo(ctx)
}
